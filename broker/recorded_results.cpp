#include "broker/recorded_results.h"

#include <algorithm>
#include <limits>

#include "common/protocol/msgpack_reader.h"

namespace pl::broker {

namespace {

// Batches kept in memory: a replay reads its items about in record order, a batch holds a
// commit's results (hundreds under load), and out-of-order items come from a few batches around.
constexpr size_t kCachedBatches = 8;

uint64_t hash_of(std::string_view item_id) { return std::hash<std::string_view>{}(item_id); }

// A record is [item id, result] (protocol::append_record): reads its header and item id.
Result<std::string_view> read_record_head(protocol::MsgpackReader& reader) {
  auto count = reader.read_array_header();
  if (!count.ok()) return std::move(count).error();
  if (*count != 2) return make_error(ErrorCode::kInvalidInput, "a record is not an [id, result] pair");
  return reader.read_key();
}

}  // namespace

Result<RecordedResults> RecordedResults::index(RunStore& store, std::string run_id,
                                               const std::function<void()>& on_record) {
  RecordedResults out(store, std::move(run_id));
  Status walked = store.for_each_item_batch(out.run_id_, [&](int64_t position,
                                                             std::string_view bytes) {
    const auto batch = static_cast<uint32_t>(out.positions_.size());
    out.positions_.push_back(position);
    protocol::MsgpackReader reader(bytes, protocol::ReaderLimits{});
    while (reader.remaining() > 0) {
      const size_t offset = reader.position();
      auto item_id = read_record_head(reader);
      Status value = item_id.ok() ? reader.skip_at(2) : Status(item_id.error());
      if (!value.ok() || offset > std::numeric_limits<uint32_t>::max()) {
        out.problem_ = "unreadable item results of " + out.run_id_ + " (batch " +
                       std::to_string(position) + ", record at byte " + std::to_string(offset) +
                       "): " + (value.ok() ? "batch too large" : value.error().message);
        return;
      }
      out.entries_.push_back(Entry{hash_of(*item_id), batch, static_cast<uint32_t>(offset)});
      on_record();
    }
  });
  if (!walked.ok()) return std::move(walked).error();
  // Stable on record order within a hash: the last record of an item is the last of its equals.
  std::sort(out.entries_.begin(), out.entries_.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.hash, a.batch, a.offset) < std::tie(b.hash, b.batch, b.offset);
  });
  out.taken_.assign(out.entries_.size(), false);
  // About four entries a prefix: 2^bits_ >= n / 4.
  const size_t n = out.entries_.size();
  out.bits_ = 1;
  while (out.bits_ < 32 && (size_t{1} << out.bits_) < n / 4) ++out.bits_;
  out.directory_.assign((size_t{1} << out.bits_) + 1, static_cast<uint32_t>(n));
  for (size_t i = n; i-- > 0;) {
    out.directory_[out.entries_[i].hash >> (64 - out.bits_)] = static_cast<uint32_t>(i);
  }
  for (size_t b = out.directory_.size() - 1; b-- > 0;) {
    out.directory_[b] = std::min(out.directory_[b], out.directory_[b + 1]);
  }
  return out;
}

std::optional<Value> RecordedResults::take(std::string_view item_id) {
  if (entries_.empty()) return std::nullopt;
  const uint64_t hash = hash_of(item_id);
  const uint64_t prefix = hash >> (64 - bits_);
  auto [first, last] = std::equal_range(
      entries_.begin() + directory_[prefix], entries_.begin() + directory_[prefix + 1],
      Entry{hash, 0, 0}, [](const Entry& a, const Entry& b) { return a.hash < b.hash; });
  // The latest record of the item wins; other ids of the same hash are passed over.
  for (auto it = last; it != first;) {
    --it;
    auto record = read(*it, /*with_value=*/false);
    if (!record.ok()) {
      problem_ = record.error().message;
      continue;
    }
    if (record->item_id != item_id) continue;
    const auto index = static_cast<size_t>(it - entries_.begin());
    if (taken_[index]) return std::nullopt;
    taken_[index] = true;
    auto whole = read(*it, /*with_value=*/true);
    if (!whole.ok()) {
      problem_ = whole.error().message;
      return std::nullopt;
    }
    return std::move(whole->value);
  }
  return std::nullopt;
}

Result<RecordedResults::Record> RecordedResults::read(const Entry& entry, bool with_value) {
  auto bytes = batch_bytes(entry.batch);
  if (!bytes.ok()) return std::move(bytes).error();
  auto fail = [&](const Error& why) {
    return make_error(ErrorCode::kIo, "unreadable item result of " + run_id_ + " (batch " +
                                          std::to_string(positions_[entry.batch]) + ", byte " +
                                          std::to_string(entry.offset) + "): " + why.message);
  };
  if (entry.offset >= bytes->size()) return fail(make_error(ErrorCode::kIo, "the batch changed"));
  protocol::MsgpackReader reader(bytes->substr(entry.offset), protocol::ReaderLimits{});
  auto item_id = read_record_head(reader);
  if (!item_id.ok()) return fail(item_id.error());
  Record record{*item_id, Value()};
  if (with_value) {
    auto value = reader.read_at(2);
    if (!value.ok()) return fail(value.error());
    record.value = std::move(*value);
  }
  return record;
}

Result<std::string_view> RecordedResults::batch_bytes(uint32_t batch) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first != batch) continue;
    if (it != cache_.begin()) {
      auto kept = std::move(*it);
      cache_.erase(it);
      cache_.push_front(std::move(kept));
    }
    return std::string_view(cache_.front().second);
  }
  auto bytes = store_->item_batch(run_id_, positions_[batch]);
  if (!bytes.ok()) return std::move(bytes).error();
  cache_.emplace_front(batch, std::move(*bytes));
  if (cache_.size() > kCachedBatches) cache_.pop_back();
  return std::string_view(cache_.front().second);
}

}  // namespace pl::broker
