// How long this disk takes to make a small write durable: the floor under every commit of a
// database that syncs (SQLite's WAL with synchronous=full runs one fdatasync per commit). A
// benchmark prints it beside its figures, so that results from two machines, or two days of one
// virtual machine, can be told apart from a change in our code.
#pragma once

#include <filesystem>
#include <optional>

namespace pl::bench {

struct DiskFlush {
  double p50_us = 0;
  double p99_us = 0;
};

// Times `rounds` rounds of one 4 KiB pwrite into a preallocated file in `dir` followed by
// fdatasync (the file is removed after). nullopt when the file cannot be made or synced.
std::optional<DiskFlush> measure_disk_flush(const std::filesystem::path& dir, int rounds = 300);

}  // namespace pl::bench
