#include "common/config/llm_provider.h"

#include <iterator>

#include "common/config/section_reader.h"

namespace pl {

std::string read_default_llm_provider(SectionReader& providers) {
  return providers.choice("default_provider", kDefaultLlmProvider,
                          {std::begin(kLlmProviderNames), std::end(kLlmProviderNames)});
}

std::string read_default_llm_provider_only(SectionReader& any) {
  static constexpr std::string_view kPath = "/providers";
  // Every key present counts as known: whether the others are right is the workers' to say.
  std::vector<std::string_view> present;
  if (const Value* section = any.document().root().find(kPath.substr(1));
      section && section->is_object()) {
    for (const auto& [key, value] : section->as_object()) present.push_back(key);
  }
  SectionReader providers = any.section(std::string(kPath), std::move(present));
  return read_default_llm_provider(providers);
}

}  // namespace pl
