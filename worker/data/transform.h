// The data_transform step's operations, as pure functions over Values.
//
// Two phases. parse_operations() reads the step's `operations` list (as the loader accepted it,
// expressions unrendered) into typed operations, checking every option before any data is
// touched. apply_operations() then runs them in order, each on the previous one's result.
//
// Every error says which operation failed and why, counting from 0 as the YAML list does:
//   operation 2 (sort): field "score" is missing in item 7
// Items are counted from 0 too. Codes: kInvalidInput for options and data of the wrong shape
// (and for expression errors, whose own messages are kept), kTooLarge for the limits below
// (`operation 3 (map): the data passed the size limit of 268435456 bytes at item 0 ...`),
// kCancelled when the stop check says so.
//
// Conditions and expressions are the pipeline expression language (common/pipeline/
// expression.h) evaluated once per item. Names resolve in this order:
//   item          the whole item
//   <member>      each member of the item when it is a map ("score > 80")
//   value         for filter and map with `field`: the item's value at that field
//   <run roots>   the members of `run_roots` given to apply_operations (inputs, global_vars,
//                 state, loop, ... as the broker chose to send them); nothing when absent
// A reference to anything else is an error naming it, a missing member included (write
// `default(score, 0)` or `score exists and ...` to allow absence).
//
// Thread safety: parsed operations are immutable and may be applied from several threads.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/pipeline/expression.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/data/field_path.h"

namespace pl::worker::data {

struct TransformLimits {
  size_t max_operations = 256;   // entries of `operations`
  size_t max_items = 1'000'000;  // items a join may produce (the one operation that can make
                                 // more items than it is given; no other is counted)
  // The estimated size (estimated_bytes) of what one operation produces. map and join, the
  // operations that can grow the data ("[item, item]" doubles it), count it item by item as
  // they build and stop as soon as it is passed; the others' results are measured when they
  // finish. So no chain of operations holds much more than this per result, whatever it does.
  size_t max_bytes = size_t{256} << 20;
};

// An estimate of the memory `v` takes in the worker: a fixed cost per value (and per map
// member) plus the bytes of its strings and keys. Deterministic, so limits fail the same way on
// every host; it is not the JSON size (a small integer costs more here than its digits).
size_t estimated_bytes(const Value& v);

// Says whether to give up (cancelled, deadline passed); checked every few thousand items.
using StopCheck = std::function<bool()>;

enum class SortOrder { kAscending, kDescending };
enum class JoinType { kInner, kLeft };
enum class AggregateFunction { kSum, kAverage, kMin, kMax, kCount, kCountDistinct };

// Keeps the items for which `condition` is truthy (Value::truthy).
struct FilterOp {
  Value condition;  // as written: a string, or a structured condition
  std::optional<pipeline::Expression> expression;  // parsed once when `condition` is a string
  std::optional<FieldPath> field;                  // binds `value`; must exist in every item
};

// Rewrites each item (or a single map given instead of a list). Exactly one of:
//   expression   the new value: of the whole item; of `field` (where `value` is the field's
//                current value, if it has one); or stored at `as` (the item is kept)
//   mapping      with `field`: a table from the field's text (key_text) to its new value,
//                written back to `field` (or to `as`); values not in the table are kept.
//                Without `field`: its members are set in every item (constants).
struct MapOp {
  std::optional<pipeline::Expression> expression;
  std::optional<Value> mapping;  // a map
  std::optional<FieldPath> field;
  std::optional<FieldPath> target;  // `as`, else `field`
};

// Reduces the list to one value, or with `group_by` to one {<group_by>: key, <as>: value} per
// group in order of first appearance. Values are the items themselves or their `field`.
// `group_by` and `as` are field paths in the row too: group_by "user.team" makes rows
// {user: {team: key}, ...}, which a later operation reads back as "user.team". The two paths
// must not overlap (one the other or inside it).
//   count           items; with `field`, items where it exists and is not null
//   count_distinct  distinct values (compare_values); with `field`, existing non-null ones
//   sum             numbers; integers stay integers (overflow is an error); 0 for no items
//   average         numbers, a decimal; null for no items
//   min, max        all numbers or all strings; null for no items
// sum/average/min/max: a missing field or a value of another kind is an error naming the item.
struct AggregateOp {
  AggregateFunction function = AggregateFunction::kCount;
  std::optional<FieldPath> field;
  std::optional<FieldPath> group_by;
  std::optional<FieldPath> result;  // `as`, else the function's name (always set by parsing)
};

// SQL-style equi-join of the items (maps) with the `right` list (maps): each left item is paired
// with every right item whose `join_key` equals the left item's `left_field` (default: the same
// name) under compare_values; null keys match nothing. A pair is the left item with the right
// item's members set over it (the right side wins a clash), or, with `as`, the left item with
// the right item stored under `as`. `left` keeps unmatched left items (with `as`: set to null);
// `inner` drops them. Output order: left order, then right order among matches.
struct JoinOp {
  Value right;  // the list resolved by the broker
  FieldPath left_key;
  FieldPath right_key;
  JoinType type = JoinType::kLeft;
  std::optional<FieldPath> nest_as;
};

// Groups the items by a field into a map: key_text(value) -> the items, in input order (the
// keys sorted, as in every map). Two different values with the same text ("1" and 1) are an
// error, as are lists or maps as keys.
struct GroupByOp {
  FieldPath field;
};

// Stable sort by one or more fields (or, with none, by the items themselves). Nulls come first
// ascending and last descending; otherwise the values of one field must all be numbers, all
// strings or all bools. Items that compare equal keep their order in both directions.
struct SortOp {
  std::vector<FieldPath> keys;
  SortOrder order = SortOrder::kAscending;
};

using OperationSpec = std::variant<FilterOp, MapOp, AggregateOp, JoinOp, GroupByOp, SortOp>;

struct TransformOperation {
  size_t index = 0;  // position in `operations`
  std::string name;  // "filter", "map", ... for messages
  OperationSpec spec;
};

// Reads `operations` (a list of maps, each with `operation` and its options). Options that do
// not apply to an operation are errors, not silently ignored. Join's right-hand list is read
// from `right_source_value` (what the broker resolved), else from `right_source` when that is
// already a list; a string `right_source` with nothing resolved is an error.
[[nodiscard]] Result<std::vector<TransformOperation>> parse_operations(
    const Value& operations, const TransformLimits& limits = {});

// One entry of `operations`, at position `index` (which its messages name).
[[nodiscard]] Result<TransformOperation> parse_operation(const Value& entry, size_t index);

// Runs `operations` over `input`, each on the result of the one before. filter, aggregate, join,
// group_by and sort take a list; map takes a list or a single map. `run_roots` (a map, or null
// for none) holds the run's names that conditions and expressions may read behind the item.
[[nodiscard]] Result<Value> apply_operations(Value input,
                                             const std::vector<TransformOperation>& operations,
                                             const TransformLimits& limits = {},
                                             const StopCheck& stop = {},
                                             const Value& run_roots = Value());

}  // namespace pl::worker::data
