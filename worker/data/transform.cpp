#include "worker/data/transform.h"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string_view>

#include "common/json.h"
#include "common/pipeline/condition.h"
#include "common/pipeline/scope.h"
#include "common/text.h"
#include "worker/data/value_order.h"

namespace pl::worker::data {
namespace {

using pipeline::Expression;

constexpr size_t kStopCheckEvery = 1024;
// What a map member costs beyond its key's bytes and its value: the tree node and the key's
// std::string.
constexpr size_t kMapMemberBytes = 64;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---------------------------------------------------------------------------------------------
// Parsing

struct OperationKind {
  std::string_view name;
  std::vector<std::string_view> keys;  // besides "operation"
};

const std::array<OperationKind, 6>& operation_kinds() {
  static const std::array<OperationKind, 6> kKinds{{
      {"filter", {"condition", "field"}},
      {"map", {"expression", "mapping", "field", "as"}},
      {"aggregate", {"function", "field", "group_by", "as"}},
      {"join", {"right_source", "right_source_value", "join_key", "left_field", "join_type", "as"}},
      {"group_by", {"field", "by"}},
      {"sort", {"by", "field", "order"}},
  }};
  return kKinds;
}

constexpr std::array<std::pair<std::string_view, AggregateFunction>, 6> kFunctions{{
    {"sum", AggregateFunction::kSum},
    {"average", AggregateFunction::kAverage},
    {"min", AggregateFunction::kMin},
    {"max", AggregateFunction::kMax},
    {"count", AggregateFunction::kCount},
    {"count_distinct", AggregateFunction::kCountDistinct},
}};

// Reads the options of one operations entry; every error carries the "operation N (name): "
// prefix.
class EntryReader {
 public:
  EntryReader(const Value& entry, std::string prefix) : entry_(entry), prefix_(std::move(prefix)) {}

  Error error(const std::string& message) const {
    return make_error(ErrorCode::kInvalidInput, prefix_ + message);
  }

  const Value* find(std::string_view key) const { return entry_.find(key); }

  Result<std::optional<std::string>> string(std::string_view key) const {
    const Value* v = entry_.find(key);
    if (!v) return std::optional<std::string>();
    if (!v->is_string()) {
      return error(quote(key) + " must be a string, not " + kind_phrase(*v));
    }
    return std::optional<std::string>(v->as_string());
  }

  Result<std::optional<FieldPath>> path(std::string_view key) const {
    auto text = string(key);
    if (!text.ok()) return std::move(text).error();
    if (!*text) return std::optional<FieldPath>();
    auto parsed = FieldPath::parse(**text);
    if (!parsed.ok()) return error(quote(key) + ": " + parsed.error().message);
    return std::optional<FieldPath>(std::move(*parsed));
  }

  Result<Expression> expression(std::string_view key, const std::string& text) const {
    auto parsed = pipeline::parse_condition_string(text);
    if (!parsed.ok()) return error("bad " + std::string(key) + ": " + parsed.error().message);
    return std::move(*parsed);
  }

 private:
  const Value& entry_;
  std::string prefix_;
};

Result<OperationSpec> parse_filter(const EntryReader& r) {
  FilterOp op;
  const Value* condition = r.find("condition");
  if (!condition) return r.error("needs a \"condition\"");
  op.condition = *condition;
  if (condition->is_string()) {
    auto e = r.expression("condition", condition->as_string());
    if (!e.ok()) return std::move(e).error();
    op.expression = std::move(*e);
  } else {
    auto checked = pipeline::parse_condition(*condition);
    if (!checked.ok()) return r.error("bad condition: " + checked.error().message);
  }
  auto field = r.path("field");
  if (!field.ok()) return std::move(field).error();
  op.field = std::move(*field);
  return OperationSpec(std::move(op));
}

Result<OperationSpec> parse_map(const EntryReader& r) {
  MapOp op;
  auto field = r.path("field");
  if (!field.ok()) return std::move(field).error();
  auto as = r.path("as");
  if (!as.ok()) return std::move(as).error();
  op.field = std::move(*field);
  op.target = *as ? std::move(*as) : op.field;

  const Value* expression = r.find("expression");
  const Value* mapping = r.find("mapping");
  if ((expression != nullptr) == (mapping != nullptr)) {
    return r.error("needs exactly one of \"expression\" and \"mapping\"");
  }
  if (expression) {
    auto text = r.string("expression");
    if (!text.ok()) return std::move(text).error();
    auto e = r.expression("expression", **text);
    if (!e.ok()) return std::move(e).error();
    op.expression = std::move(*e);
  } else {
    if (!mapping->is_object()) {
      return r.error("\"mapping\" must be a map, not " + kind_phrase(*mapping));
    }
    if (!op.field && r.find("as")) {
      return r.error(
          "\"as\" needs \"field\" with a mapping (without a field the mapping's "
          "members are set in every item)");
    }
    op.mapping = *mapping;
  }
  return OperationSpec(std::move(op));
}

Result<OperationSpec> parse_aggregate(const EntryReader& r) {
  AggregateOp op;
  auto function = r.string("function");
  if (!function.ok()) return std::move(function).error();
  if (!*function)
    return r.error(
        "needs a \"function\" (sum, average, min, max, count, "
        "count_distinct)");
  bool known = false;
  std::vector<std::string_view> names;
  for (const auto& [name, f] : kFunctions) {
    names.push_back(name);
    if (name == **function) {
      op.function = f;
      known = true;
    }
  }
  if (!known) {
    return r.error("unknown function " + quote(**function) + did_you_mean(**function, names));
  }
  auto field = r.path("field");
  if (!field.ok()) return std::move(field).error();
  auto group_by = r.path("group_by");
  if (!group_by.ok()) return std::move(group_by).error();
  auto as = r.path("as");
  if (!as.ok()) return std::move(as).error();
  op.field = std::move(*field);
  op.group_by = std::move(*group_by);
  // A function's name is a plain word, so it always parses.
  op.result = *as ? std::move(**as) : *FieldPath::parse(**function);
  // Rows hold both paths: one inside the other would overwrite it.
  if (op.group_by && op.group_by->overlaps(*op.result)) {
    return r.error("the result name " + quote(op.result->text()) + " and the group_by field " +
                   quote(op.group_by->text()) + " would overwrite each other in a row; " +
                   "choose another name with \"as\"");
  }
  return OperationSpec(std::move(op));
}

Result<OperationSpec> parse_join(const EntryReader& r) {
  Value right;
  if (const Value* resolved = r.find("right_source_value")) {
    right = *resolved;
  } else if (const Value* source = r.find("right_source")) {
    if (source->is_string()) {
      return r.error("\"right_source\" " + quote(source->as_string()) +
                     " was not resolved to a list before dispatch");
    }
    right = *source;
  } else {
    return r.error("needs a \"right_source\" (the list to join with)");
  }
  if (!right.is_array()) {
    return r.error("\"right_source\" must be a list, not " + kind_phrase(right));
  }
  auto join_key = r.path("join_key");
  if (!join_key.ok()) return std::move(join_key).error();
  if (!*join_key) return r.error("needs a \"join_key\"");
  auto left_field = r.path("left_field");
  if (!left_field.ok()) return std::move(left_field).error();
  JoinType type = JoinType::kLeft;
  auto type_text = r.string("join_type");
  if (!type_text.ok()) return std::move(type_text).error();
  if (*type_text) {
    if (**type_text == "inner") {
      type = JoinType::kInner;
    } else if (**type_text != "left") {
      return r.error("\"join_type\" must be \"inner\" or \"left\", not " + quote(**type_text));
    }
  }
  auto as = r.path("as");
  if (!as.ok()) return std::move(as).error();
  return OperationSpec(JoinOp{std::move(right), *left_field ? **left_field : **join_key, **join_key,
                              type, std::move(*as)});
}

// `by` or `field`, one of them.
Result<const Value*> by_or_field(const EntryReader& r) {
  const Value* by = r.find("by");
  const Value* field = r.find("field");
  if (by && field) return r.error("takes \"by\" or \"field\", not both");
  return by ? by : field;
}

Result<OperationSpec> parse_group_by(const EntryReader& r) {
  auto which = by_or_field(r);
  if (!which.ok()) return std::move(which).error();
  if (!*which) return r.error("needs a \"field\" to group by");
  auto path = r.path(r.find("by") ? "by" : "field");
  if (!path.ok()) return std::move(path).error();
  return OperationSpec(GroupByOp{std::move(**path)});
}

Result<OperationSpec> parse_sort(const EntryReader& r) {
  SortOp op;
  auto which = by_or_field(r);
  if (!which.ok()) return std::move(which).error();
  const std::string_view key = r.find("by") ? "by" : "field";
  if (const Value* keys = *which) {
    std::vector<std::string> texts;
    if (keys->is_string()) {
      // "team, score": several fields, most significant first.
      const std::string& s = keys->as_string();
      size_t start = 0;
      for (;;) {
        const size_t comma = s.find(',', start);
        std::string part = s.substr(start, comma == std::string::npos ? comma : comma - start);
        const size_t b = part.find_first_not_of(" \t");
        const size_t e = part.find_last_not_of(" \t");
        texts.push_back(b == std::string::npos ? "" : part.substr(b, e - b + 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (keys->is_array()) {
      for (const Value& k : keys->as_array()) {
        if (!k.is_string()) {
          return r.error(quote(key) + " must list strings, not " + kind_phrase(k));
        }
        texts.push_back(k.as_string());
      }
      if (texts.empty()) return r.error(quote(key) + " must not be empty");
    } else {
      return r.error(quote(key) + " must be a string or a list of strings, not " +
                     kind_phrase(*keys));
    }
    for (const std::string& text : texts) {
      auto path = FieldPath::parse(text);
      if (!path.ok()) return r.error(quote(key) + ": " + path.error().message);
      op.keys.push_back(std::move(*path));
    }
  }
  auto order = r.string("order");
  if (!order.ok()) return std::move(order).error();
  if (*order) {
    if (**order == "asc") {
      op.order = SortOrder::kAscending;
    } else if (**order == "desc") {
      op.order = SortOrder::kDescending;
    } else {
      return r.error("\"order\" must be \"asc\" or \"desc\", not " + quote(**order));
    }
  }
  return OperationSpec(std::move(op));
}

// ---------------------------------------------------------------------------------------------
// Running

std::string size_hint() {
  return " (an estimate of its memory in the worker; filter or reduce the data before it "
         "grows)";
}

// Where an operation's error messages come from, and the stop check.
class Run {
 public:
  Run(const TransformOperation& op, const TransformLimits& limits, const StopCheck& stop,
      const pipeline::Scope& roots)
      : op_(op), limits_(limits), stop_(stop), roots_(roots) {}

  Error error(const std::string& message, ErrorCode code = ErrorCode::kInvalidInput) const {
    return make_error(code,
                      "operation " + std::to_string(op_.index) + " (" + op_.name + "): " + message);
  }
  Error missing(const FieldPath& field, size_t item) const {
    return error("field " + quote(field.text()) + " is missing in item " + std::to_string(item));
  }
  Error at_item(size_t item, const Error& e) const {
    return make_error(e.code, "operation " + std::to_string(op_.index) + " (" + op_.name +
                                  "): item " + std::to_string(item) + ": " + e.message);
  }
  // Every kStopCheckEvery items: whether to give up.
  std::optional<Error> tick(size_t item) const {
    if (stop_ && item % kStopCheckEvery == 0 && stop_()) {
      return error("stopped (cancelled or out of time)", ErrorCode::kCancelled);
    }
    return std::nullopt;
  }
  const TransformLimits& limits() const { return limits_; }
  // The result passed TransformLimits::max_bytes while item `item` was being made (map, join).
  Error too_large_at(size_t item) const {
    return error("the data passed the size limit of " + std::to_string(limits_.max_bytes) +
                     " bytes at item " + std::to_string(item) + size_hint(),
                 ErrorCode::kTooLarge);
  }
  // The finished result, estimated at `bytes`, is over TransformLimits::max_bytes.
  Error too_large(size_t bytes) const {
    return error("the result is about " + std::to_string(bytes) +
                     " bytes, over the size limit of " + std::to_string(limits_.max_bytes) +
                     " bytes" + size_hint(),
                 ErrorCode::kTooLarge);
  }
  // The run's roots, behind the item (and `value`).
  const pipeline::Scope& roots() const { return roots_; }

 private:
  const TransformOperation& op_;
  const TransformLimits& limits_;
  const StopCheck& stop_;
  const pipeline::Scope& roots_;
};

// The bytes one operation builds, counted against TransformLimits::max_bytes as it goes.
class SizeBudget {
 public:
  explicit SizeBudget(size_t limit) : limit_(limit) {}
  // Counts `v`; false once the total is over the limit.
  [[nodiscard]] bool charge(const Value& v) {
    used_ += estimated_bytes(v);
    return used_ <= limit_;
  }

 private:
  size_t limit_;
  size_t used_ = 0;
};

// What an expression sees behind the item: `value`, when an operation binds it, then the run's
// roots.
class ValueBinding final : public pipeline::Scope {
 public:
  ValueBinding(const Value* value, const pipeline::Scope& next) : value_(value), next_(next) {}
  const Value* root(std::string_view name) const override {
    if (value_ && name == "value") return value_;
    return next_.root(name);
  }
  bool names_step(std::string_view name) const override {
    if (value_ && name == "value") return false;
    return next_.names_step(name);
  }

 private:
  const Value* value_;
  const pipeline::Scope& next_;
};

Result<Value> evaluate(const Run& run, const Expression& e, const Value& item, const Value* value) {
  ValueBinding outer(value, run.roots());
  pipeline::ItemScope scope(item, outer);
  return e.evaluate(scope);
}

Result<Value> run_filter(const Run& run, const FilterOp& op, Value::Array items) {
  Value::Array kept;
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto stop = run.tick(i)) return *stop;
    const Value* value = nullptr;
    if (op.field) {
      value = op.field->find(items[i]);
      if (!value) return run.missing(*op.field, i);
    }
    bool keep = false;
    if (op.expression) {
      auto v = evaluate(run, *op.expression, items[i], value);
      if (!v.ok()) return run.at_item(i, v.error());
      keep = v->truthy();
    } else {
      ValueBinding outer(value, run.roots());
      pipeline::ItemScope scope(items[i], outer);
      auto holds = pipeline::evaluate_condition(op.condition, scope);
      if (!holds.ok()) return run.at_item(i, holds.error());
      keep = *holds;
    }
    if (keep) kept.push_back(std::move(items[i]));
  }
  return Value(std::move(kept));
}

Status map_item(const Run& run, const MapOp& op, Value& item, size_t i) {
  const Value* current = op.field ? op.field->find(item) : nullptr;
  if (op.expression) {
    auto v = evaluate(run, *op.expression, item, current);
    if (!v.ok()) return run.at_item(i, v.error());
    if (!op.target) {
      item = std::move(*v);
      return ok_status();
    }
    Status s = op.target->assign(item, std::move(*v));
    return s.ok() ? s : run.at_item(i, s.error());
  }
  const Value& mapping = *op.mapping;
  if (!op.field) {
    if (!item.is_object()) {
      return run.error("item " + std::to_string(i) + " is " + kind_phrase(item) +
                       ", not a map; a mapping without a field sets members");
    }
    for (const auto& [k, v] : mapping.as_object()) item[k] = v;
    return ok_status();
  }
  if (!current) return run.missing(*op.field, i);
  auto text = key_text(*current);
  if (!text.ok()) {
    return run.error("field " + quote(op.field->text()) + " in item " + std::to_string(i) + " " +
                     text.error().message + "; a mapping looks up scalars");
  }
  const Value* replacement = mapping.find(*text);
  Value next = replacement ? *replacement : *current;
  Status s = op.target->assign(item, std::move(next));
  return s.ok() ? s : run.at_item(i, s.error());
}

// Each new item is measured as soon as it is made: an expression like "[item, item]" can
// double the data, and a chain of them would otherwise grow it exponentially.
Result<Value> run_map(const Run& run, const MapOp& op, Value input) {
  SizeBudget budget(run.limits().max_bytes);
  if (input.is_object()) {
    Status s = map_item(run, op, input, 0);
    if (!s.ok()) return s.error();
    if (!budget.charge(input)) return run.too_large_at(0);
    return input;
  }
  Value::Array& items = input.as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto stop = run.tick(i)) return *stop;
    Status s = map_item(run, op, items[i], i);
    if (!s.ok()) return s.error();
    if (!budget.charge(items[i])) return run.too_large_at(i);
  }
  return input;
}

// The values of one group for aggregate: (item index, value or nullptr when missing).
using Column = std::vector<std::pair<size_t, const Value*>>;

Result<Value> reduce(const Run& run, const AggregateOp& op, const Column& column) {
  const std::string field_text = op.field ? op.field->text() : "";
  auto describe = [&](size_t i) {
    return op.field ? "field " + quote(field_text) + " in item " + std::to_string(i)
                    : "item " + std::to_string(i);
  };
  switch (op.function) {
    case AggregateFunction::kCount: {
      if (!op.field) return Value(static_cast<int64_t>(column.size()));  // every item, null too
      int64_t n = 0;
      for (const auto& [i, v] : column) n += (v && !v->is_null()) ? 1 : 0;
      return Value(n);
    }
    case AggregateFunction::kCountDistinct: {
      std::set<Value, ValueLess> seen;
      for (const auto& [i, v] : column) {
        if (v && !v->is_null()) seen.insert(*v);
      }
      return Value(static_cast<int64_t>(seen.size()));
    }
    default:
      break;
  }
  for (const auto& [i, v] : column) {
    if (!v) return run.missing(*op.field, i);
  }
  if (op.function == AggregateFunction::kMin || op.function == AggregateFunction::kMax) {
    if (column.empty()) return Value();
    const Value* best = column.front().second;
    const KindFamily family = family_of(*best);
    for (const auto& [i, v] : column) {
      const KindFamily f = family_of(*v);
      if ((f != KindFamily::kNumber && f != KindFamily::kString) || f != family) {
        return run.error(describe(i) + " is " + kind_phrase(*v) + "; " +
                         (f == KindFamily::kNumber || f == KindFamily::kString
                              ? "min and max need all numbers or all strings"
                              : "min and max compare numbers or strings"));
      }
      const int c = compare_values(*v, *best);
      if (op.function == AggregateFunction::kMin ? c < 0 : c > 0) best = v;
    }
    return *best;
  }
  // Integers add up exactly in 128 bits (no sum of int64 values this side of 2^63 of them
  // overflows it), so only the total decides whether an all-integer sum fits: [max, 1, -1]
  // is max, not an overflow.
  __int128 int_sum = 0;
  double double_sum = 0;
  bool any_double = false;
  for (const auto& [i, v] : column) {
    if (!v->is_number()) {
      return run.error(describe(i) + " is " + kind_phrase(*v) + ", not a number");
    }
    if (v->is_int()) {
      int_sum += v->as_int();
    } else {
      double_sum += v->as_double();
      any_double = true;
    }
  }
  if (op.function == AggregateFunction::kSum) {
    if (any_double) return Value(double_sum + static_cast<double>(int_sum));
    if (int_sum > std::numeric_limits<int64_t>::max() ||
        int_sum < std::numeric_limits<int64_t>::min()) {
      return run.error("the sum overflows a 64-bit integer: it is about " +
                       to_json(Value(static_cast<double>(int_sum))));
    }
    return Value(static_cast<int64_t>(int_sum));
  }
  if (column.empty()) return Value();
  return Value((double_sum + static_cast<double>(int_sum)) / static_cast<double>(column.size()));
}

Result<Value> run_aggregate(const Run& run, const AggregateOp& op, const Value::Array& items) {
  std::vector<Value> keys;  // in order of first appearance
  std::map<Value, size_t, ValueLess> group_of;
  std::vector<Column> columns;
  if (!op.group_by) columns.emplace_back();
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto stop = run.tick(i)) return *stop;
    const Value* v = op.field ? op.field->find(items[i]) : &items[i];
    size_t group = 0;
    if (op.group_by) {
      const Value* key = op.group_by->find(items[i]);
      if (!key) return run.missing(*op.group_by, i);
      auto [it, inserted] = group_of.emplace(*key, columns.size());
      if (inserted) {
        keys.push_back(*key);
        columns.emplace_back();
      }
      group = it->second;
    }
    columns[group].emplace_back(i, v);
  }
  if (!op.group_by) return reduce(run, op, columns.front());
  Value::Array out;
  for (size_t g = 0; g < columns.size(); ++g) {
    auto value = reduce(run, op, columns[g]);
    if (!value.ok()) return value;
    // Dotted names make nested members, so the row reads back by the same field paths.
    Value row = Value::object();
    Status s = op.group_by->assign(row, keys[g]);
    if (s.ok()) s = op.result->assign(row, std::move(*value));
    if (!s.ok()) return run.error("group " + std::to_string(g) + ": " + s.error().message);
    out.push_back(std::move(row));
  }
  return Value(std::move(out));
}

Result<Value> run_join(const Run& run, const JoinOp& op, Value::Array items) {
  const Value::Array& right = op.right.as_array();
  std::map<Value, std::vector<size_t>, ValueLess> index;
  for (size_t j = 0; j < right.size(); ++j) {
    if (!right[j].is_object()) {
      return run.error("right item " + std::to_string(j) + " is " + kind_phrase(right[j]) +
                       ", not a map");
    }
    const Value* key = op.right_key.find(right[j]);
    if (!key) {
      return run.error("field " + quote(op.right_key.text()) + " is missing in right item " +
                       std::to_string(j));
    }
    if (!key->is_null()) index[*key].push_back(j);
  }
  Value::Array out;
  SizeBudget budget(run.limits().max_bytes);  // each pair copies its left item whole
  auto emit = [&](Value item, size_t i) -> Status {
    if (out.size() >= run.limits().max_items) {
      return run.error("the result has more than " + std::to_string(run.limits().max_items) +
                           " items (the limit)",
                       ErrorCode::kTooLarge);
    }
    if (!budget.charge(item)) return run.too_large_at(i);
    out.push_back(std::move(item));
    return ok_status();
  };
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto stop = run.tick(i)) return *stop;
    Value& left = items[i];
    if (!left.is_object()) {
      return run.error("item " + std::to_string(i) + " is " + kind_phrase(left) + ", not a map");
    }
    const Value* key = op.left_key.find(left);
    if (!key) return run.missing(op.left_key, i);
    const std::vector<size_t>* matches = nullptr;
    if (!key->is_null()) {
      auto it = index.find(*key);
      if (it != index.end()) matches = &it->second;
    }
    if (!matches) {
      if (op.type == JoinType::kInner) continue;
      if (op.nest_as) {
        Status s = op.nest_as->assign(left, Value());
        if (!s.ok()) return run.at_item(i, s.error());
      }
      Status s = emit(std::move(left), i);
      if (!s.ok()) return s.error();
      continue;
    }
    for (size_t j : *matches) {
      Value joined = left;
      if (op.nest_as) {
        Status s = op.nest_as->assign(joined, right[j]);
        if (!s.ok()) return run.at_item(i, s.error());
      } else {
        for (const auto& [k, v] : right[j].as_object()) joined[k] = v;
      }
      Status s = emit(std::move(joined), i);
      if (!s.ok()) return s.error();
    }
  }
  return Value(std::move(out));
}

Result<Value> run_group_by(const Run& run, const GroupByOp& op, Value::Array items) {
  Value out = Value::object();
  std::map<std::string, std::pair<Value, size_t>, std::less<>> first;  // text -> (key, item)
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto stop = run.tick(i)) return *stop;
    const Value* key = op.field.find(items[i]);
    if (!key) return run.missing(op.field, i);
    auto text = key_text(*key);
    if (!text.ok()) {
      return run.error("field " + quote(op.field.text()) + " in item " + std::to_string(i) + " " +
                       text.error().message + "; groups are named by scalars");
    }
    auto [it, inserted] = first.emplace(*text, std::make_pair(*key, i));
    if (!inserted && compare_values(it->second.first, *key) != 0) {
      return run.error("items " + std::to_string(it->second.second) + " and " + std::to_string(i) +
                       " have different values of " + quote(op.field.text()) + " that both read " +
                       quote(*text));
    }
    out[*text].push_back(std::move(items[i]));
  }
  return out;
}

Result<Value> run_sort(const Run& run, const SortOp& op, Value::Array items) {
  const size_t width = std::max<size_t>(op.keys.size(), 1);
  std::vector<const Value*> keys(items.size() * width);
  for (size_t k = 0; k < width; ++k) {
    const FieldPath* field = op.keys.empty() ? nullptr : &op.keys[k];
    std::optional<std::pair<KindFamily, size_t>> seen;  // the family and where it was first seen
    for (size_t i = 0; i < items.size(); ++i) {
      if (auto stop = run.tick(i)) return *stop;
      const Value* v = field ? field->find(items[i]) : &items[i];
      if (!v) return run.missing(*field, i);
      const KindFamily family = family_of(*v);
      auto describe = [&](size_t item, const Value& value) {
        return field ? "field " + quote(field->text()) + " is " + kind_phrase(value) + " in item " +
                           std::to_string(item)
                     : "item " + std::to_string(item) + " is " + kind_phrase(value);
      };
      if (family == KindFamily::kOther) {
        return run.error(describe(i, *v) + "; sort orders numbers, strings and bools");
      }
      if (family != KindFamily::kNull) {
        if (!seen) {
          seen.emplace(family, i);
        } else if (seen->first != family) {
          const Value& first = field ? *field->find(items[seen->second]) : items[seen->second];
          return run.error(describe(i, *v) + " but " + kind_phrase(first) + " in item " +
                           std::to_string(seen->second));
        }
      }
      keys[i * width + k] = v;
    }
  }
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const bool descending = op.order == SortOrder::kDescending;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (size_t k = 0; k < width; ++k) {
      int c = compare_values(*keys[a * width + k], *keys[b * width + k]);
      if (c != 0) return descending ? c > 0 : c < 0;
    }
    return false;
  });
  Value::Array out;
  out.reserve(items.size());
  for (size_t i : order) out.push_back(std::move(items[i]));
  return Value(std::move(out));
}

}  // namespace

size_t estimated_bytes(const Value& v) {
  size_t bytes = sizeof(Value);
  switch (v.kind()) {
    case Value::Kind::kString:
      return bytes + v.as_string().size();
    case Value::Kind::kArray:
      for (const Value& element : v.as_array()) bytes += estimated_bytes(element);
      return bytes;
    case Value::Kind::kObject:
      for (const auto& [key, member] : v.as_object()) {
        bytes += kMapMemberBytes + key.size() + estimated_bytes(member);
      }
      return bytes;
    default:
      return bytes;
  }
}

Result<TransformOperation> parse_operation(const Value& entry, size_t index) {
  const std::string at = "operation " + std::to_string(index);
  if (!entry.is_object()) {
    return make_error(ErrorCode::kInvalidInput, at + " must be a map, not " + kind_phrase(entry));
  }
  const Value* name = entry.find("operation");
  if (!name || !name->is_string()) {
    return make_error(ErrorCode::kInvalidInput,
                      at + " needs an \"operation\" (filter, map, aggregate, join, group_by, "
                           "sort)");
  }
  const OperationKind* kind = nullptr;
  for (const OperationKind& k : operation_kinds()) {
    if (k.name == name->as_string()) kind = &k;
  }
  if (!kind) {
    std::vector<std::string_view> names;
    for (const OperationKind& k : operation_kinds()) names.push_back(k.name);
    return make_error(ErrorCode::kInvalidInput, at + ": unknown operation " +
                                                    quote(name->as_string()) +
                                                    did_you_mean(name->as_string(), names));
  }
  EntryReader reader(entry, at + " (" + std::string(kind->name) + "): ");
  for (const auto& [key, value] : entry.as_object()) {
    if (key == "operation") continue;
    if (std::find(kind->keys.begin(), kind->keys.end(), key) == kind->keys.end()) {
      return reader.error("key " + quote(key) + " does not apply to " + std::string(kind->name) +
                          did_you_mean(key, kind->keys));
    }
  }
  Result<OperationSpec> spec = make_error(ErrorCode::kInternal, "unreachable");
  if (kind->name == "filter") spec = parse_filter(reader);
  if (kind->name == "map") spec = parse_map(reader);
  if (kind->name == "aggregate") spec = parse_aggregate(reader);
  if (kind->name == "join") spec = parse_join(reader);
  if (kind->name == "group_by") spec = parse_group_by(reader);
  if (kind->name == "sort") spec = parse_sort(reader);
  if (!spec.ok()) return std::move(spec).error();
  return TransformOperation{index, std::string(kind->name), std::move(*spec)};
}

Result<std::vector<TransformOperation>> parse_operations(const Value& operations,
                                                         const TransformLimits& limits) {
  if (!operations.is_array()) {
    return make_error(ErrorCode::kInvalidInput,
                      "\"operations\" must be a list, not " + kind_phrase(operations));
  }
  if (operations.size() == 0) {
    return make_error(ErrorCode::kInvalidInput, "\"operations\" must not be empty");
  }
  if (operations.size() > limits.max_operations) {
    return make_error(ErrorCode::kTooLarge,
                      "\"operations\" has " + std::to_string(operations.size()) +
                          " entries; the limit is " + std::to_string(limits.max_operations));
  }
  std::vector<TransformOperation> out;
  for (size_t i = 0; i < operations.size(); ++i) {
    auto operation = parse_operation(operations.as_array()[i], i);
    if (!operation.ok()) return std::move(operation).error();
    out.push_back(std::move(*operation));
  }
  return out;
}

Result<Value> apply_operations(Value input, const std::vector<TransformOperation>& operations,
                               const TransformLimits& limits, const StopCheck& stop,
                               const Value& run_roots) {
  static const Value kNoRoots = Value::object();
  const pipeline::ValueScope roots(run_roots.is_object() ? run_roots : kNoRoots);
  std::string produced_by = "the input";
  for (const TransformOperation& op : operations) {
    const Run run(op, limits, stop, roots);
    const bool map_of_one = std::holds_alternative<MapOp>(op.spec) && input.is_object();
    if (!input.is_array() && !map_of_one) {
      return run.error("needs a list, but " + produced_by + " is " + kind_phrase(input));
    }
    Result<Value> next = std::visit(
        [&](const auto& spec) -> Result<Value> {
          using T = std::decay_t<decltype(spec)>;
          if constexpr (std::is_same_v<T, MapOp>) {
            return run_map(run, spec, std::move(input));
          } else if constexpr (std::is_same_v<T, FilterOp>) {
            return run_filter(run, spec, std::move(input.as_array()));
          } else if constexpr (std::is_same_v<T, AggregateOp>) {
            return run_aggregate(run, spec, input.as_array());
          } else if constexpr (std::is_same_v<T, JoinOp>) {
            return run_join(run, spec, std::move(input.as_array()));
          } else if constexpr (std::is_same_v<T, GroupByOp>) {
            return run_group_by(run, spec, std::move(input.as_array()));
          } else {
            return run_sort(run, spec, std::move(input.as_array()));
          }
        },
        op.spec);
    if (!next.ok()) return next;
    // map and join counted what they built; the others cannot grow the data much, so their
    // result is measured once.
    const bool counted =
        std::holds_alternative<MapOp>(op.spec) || std::holds_alternative<JoinOp>(op.spec);
    if (!counted) {
      const size_t bytes = estimated_bytes(*next);
      if (bytes > limits.max_bytes) return run.too_large(bytes);
    }
    input = std::move(*next);
    produced_by = "the result of operation " + std::to_string(op.index) + " (" + op.name + ")";
  }
  return input;
}

}  // namespace pl::worker::data
