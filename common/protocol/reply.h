// The reply of a request/reply API on a ROUTER socket (the registry's, the supervisor's control
// socket): ok with a result, or an error code and message, echoing the request's id.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

struct Reply {
  std::string request;
  bool ok = true;
  Value result;                           // when ok
  ErrorCode code = ErrorCode::kInternal;  // when !ok
  std::string message;                    // when !ok

  static Reply success(Value result);
  static Reply failure(const Error& error);
  // The reply as a Result: the result value, or the error it carries.
  Result<Value> to_result() const;
};

Value to_body(const Reply& m);
// `what` names the message in errors ("registry_reply: field \"ok\" ..."); a reply to a
// request that had no id may lack one unless `request_required`.
Result<Reply> reply_from(const Value& body, std::string_view what, bool request_required);

}  // namespace pl::protocol
