// Writing Prometheus' text exposition format, version 0.0.4: one HELP and one TYPE line per
// family, then its samples; label values escaped (\\, \", \n); numbers in the shortest form
// that reads back exactly (integers without an exponent). Pure; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pl::supervisor {

using Labels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  // Starts a family. `type`: counter | gauge | histogram. A family with no sample is left out.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of the current family; `suffix` is "" or "_bucket", "_sum", "_count".
  void sample(const Labels& labels, double value, std::string_view suffix = "");
  // The whole text.
  std::string take();

  static std::string escape_label(std::string_view value);
  static std::string number(double value);

 private:
  void flush_family();
  std::string out_;
  std::string name_;
  std::string header_;
  std::string samples_;
};

}  // namespace pl::supervisor
