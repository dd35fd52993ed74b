// Sizes in bytes as people write them in configs: 536870912, "512MiB", "2G", "1.5GiB" is not
// accepted (whole numbers only), "unlimited" where the caller allows it.
//
// Units: none or B = bytes; K/KiB, M/MiB, G/GiB, T/TiB are powers of 1024 (as systemd's
// MemoryMax= reads them); KB, MB, GB, TB are powers of 1000. Letters are case-insensitive
// except that the distinction between "KB" (1000) and "KiB" (1024) is kept. Spaces between the
// number and the unit are allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pl {

// The size, or nullopt when `text` is not a size or does not fit in 64 bits.
std::optional<uint64_t> parse_byte_size(std::string_view text);

// A short human form: "512 MiB", "1.5 GiB", "900 B". For messages and `pipelinectl top`.
std::string format_bytes(uint64_t bytes);

}  // namespace pl
