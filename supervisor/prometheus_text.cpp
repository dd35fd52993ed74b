#include "supervisor/prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace pl::supervisor {

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  flush_family();
  name_ = std::string(name);
  header_ = "# HELP " + name_ + " ";
  for (char c : help) {
    if (c == '\\') {
      header_ += "\\\\";
    } else if (c == '\n') {
      header_ += "\\n";
    } else {
      header_ += c;
    }
  }
  header_ += "\n# TYPE " + name_ + " " + std::string(type) + "\n";
}

void PrometheusText::sample(const Labels& labels, double value, std::string_view suffix) {
  samples_ += name_;
  samples_ += suffix;
  if (!labels.empty()) {
    samples_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) samples_ += ',';
      samples_ += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
    }
    samples_ += '}';
  }
  samples_ += ' ';
  samples_ += number(value);
  samples_ += '\n';
}

void PrometheusText::flush_family() {
  if (!samples_.empty()) {
    out_ += header_;
    out_ += samples_;
  }
  samples_.clear();
  header_.clear();
}

std::string PrometheusText::take() {
  flush_family();
  return std::exchange(out_, {});
}

std::string PrometheusText::escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PrometheusText::number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (value == std::trunc(value) && std::fabs(value) < 9.007199254740992e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

}  // namespace pl::supervisor
