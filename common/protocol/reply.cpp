#include "common/protocol/reply.h"

#include "common/protocol/body_reader.h"

namespace pl::protocol {

Reply Reply::success(Value result) {
  Reply r;
  r.ok = true;
  r.result = std::move(result);
  return r;
}

Reply Reply::failure(const Error& error) {
  Reply r;
  r.ok = false;
  r.code = error.code;
  r.message = error.message;
  return r;
}

Result<Value> Reply::to_result() const {
  if (ok) return result;
  return make_error(code, message);
}

Value to_body(const Reply& m) {
  Value v;
  v["request"] = m.request;
  v["ok"] = m.ok;
  if (m.ok) {
    v["result"] = m.result;
  } else {
    v["code"] = static_cast<int64_t>(m.code);
    v["message"] = m.message;
  }
  return v;
}

Result<Reply> reply_from(const Value& body, std::string_view what, bool request_required) {
  BodyReader r(body, what);
  Reply m;
  m.request = request_required ? r.string("request") : r.optional_string("request");
  m.ok = r.boolean("ok");
  if (m.ok) {
    m.result = r.optional_value("result");
  } else {
    m.code = static_cast<ErrorCode>(r.count("code", 999));
    m.message = r.string("message");
  }
  if (!r.ok()) return r.status().error();
  return m;
}

}  // namespace pl::protocol
