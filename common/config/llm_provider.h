// `providers.default_provider`: the LLM provider of an `llm` step that names none.
//
// The workers call that provider, and the broker counts the step's items against its
// concurrency limit and circuit breaker (`broker.providers`), so both read the key by this one
// rule: one of kLlmProviderNames, kDefaultLlmProvider when unset.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pl {

class SectionReader;

// The providers an `llm` step may name.
inline constexpr std::string_view kLlmProviderNames[] = {"anthropic", "gemini", "openai", "mock"};
inline constexpr std::string_view kDefaultLlmProvider = "openai";

// `default_provider` of `providers`, a reader of the `providers:` section. A value that is not
// one of kLlmProviderNames is recorded in the reader's errors (file:line:column) and gives
// kDefaultLlmProvider.
std::string read_default_llm_provider(SectionReader& providers);

// The same for a process that does not own the `providers:` section (the broker): only
// `default_provider` is read; other keys, known or not, are left to the workers, which check
// them. Errors go to `any`'s error list (any reader of the same document), so that the caller's
// one status() reports them with its own.
std::string read_default_llm_provider_only(SectionReader& any);

}  // namespace pl
