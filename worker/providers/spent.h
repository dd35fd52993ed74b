// What a failed model call or conversation had already paid for.
//
// A provider bills an answer it then refuses, blocks or cuts, and a tool-use loop that fails on
// its third call has paid for two. Such a failure carries its tokens on the Error
// (Error::fields, as {"spent": {...}}) up to llm::run_call, which prices them into the failed
// result's `usage`, so that a run's cost counts every call it paid for.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "worker/providers/provider.h"

namespace pl::worker::providers {

struct Spent {
  Usage usage;
  std::string model;     // of the last call paid for
  std::string provider;  // "anthropic", "gemini", "openai" or "mock"
};

// `e`, carrying `spent` besides what it carries already: the usage is added; the model and
// provider are those `e` carries (its own call, the later one), else `spent`'s.
Error with_spent(Error e, const Spent& spent);

// What `e` carries; nullopt when nothing was spent, or when it has been priced already.
std::optional<Spent> spent_of(const Error& e);

}  // namespace pl::worker::providers
