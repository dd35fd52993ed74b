// CSV text as file_ops reads it (csv_to_json) and writes it (json_to_csv).
//
// Properties: reading never crashes and fails with kInvalidInput naming a line; what reads as
// records writes as CSV that reads back as the same records; every field written by csv_field
// reads back as itself.
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"
#include "worker/data/csv.h"

namespace pl::fuzz {

Finding csv(std::string_view input) {
  using namespace worker::data;
  auto records = parse_csv(input);
  if (!records.ok()) {
    if (Finding f = check_error(records.error(), "parse_csv")) return f;
  } else {
    for (const auto& record : *records) {
      if (record.fields.empty()) return "a record without fields";
      if (record.line == 0) return "a record on line 0";
      // One field alone, written and read back.
      const std::string& field = record.fields.front();
      if (!field.empty()) {
        auto one = parse_csv(csv_field(field));
        if (!one.ok() || one->size() != 1 || one->front().fields.size() != 1 ||
            one->front().fields.front() != field) {
          return "csv_field wrote a field that does not read back as itself";
        }
      }
    }
  }

  auto table = csv_to_records(input);
  if (!table.ok()) return check_error(table.error(), "csv_to_records");
  if (!table->is_array()) return "csv_to_records returned something that is not a list";
  auto written = records_to_csv(*table);
  if (!written.ok()) {
    if (table->size() == 0) return "records_to_csv refused an empty list";
    return "records_to_csv refused what csv_to_records read: " + written.error().message;
  }
  auto reread = csv_to_records(*written);
  if (!reread.ok()) return "records_to_csv wrote CSV that does not read: " + reread.error().message;
  if (!identical(*reread, *table)) {
    return "records changed in a CSV round trip, " + difference(*table, *reread);
  }
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(csv)
