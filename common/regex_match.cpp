#include "common/regex_match.h"

#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <vector>

namespace pl {
namespace {

Error refused(const std::string& pattern, const std::string& why) {
  return make_error(ErrorCode::kInvalidInput, "regex \"" + pattern + "\" is refused: " + why);
}

struct Quantifier {
  size_t length = 0;  // characters it spans; 0 when there is none
  bool unbounded = false;
  long largest_count = 0;
};

// The quantifier starting at `i`, if any: * + ? {n} {n,} {n,m}, each optionally lazy (?).
Quantifier quantifier_at(const std::string& p, size_t i) {
  Quantifier q;
  if (i >= p.size()) return q;
  if (p[i] == '*' || p[i] == '+') {
    q.length = 1;
    q.unbounded = true;
  } else if (p[i] == '?') {
    q.length = 1;
  } else if (p[i] == '{') {
    size_t j = i + 1;
    long first = 0, second = -1;
    size_t digits = 0;
    while (j < p.size() && std::isdigit(static_cast<unsigned char>(p[j]))) {
      first = std::min(first * 10 + (p[j++] - '0'), 1000000L);
      ++digits;
    }
    if (digits == 0) return q;
    bool comma = false;
    if (j < p.size() && p[j] == ',') {
      comma = true;
      ++j;
      if (j < p.size() && std::isdigit(static_cast<unsigned char>(p[j]))) {
        second = 0;
        while (j < p.size() && std::isdigit(static_cast<unsigned char>(p[j]))) {
          second = std::min(second * 10 + (p[j++] - '0'), 1000000L);
        }
      }
    }
    if (j >= p.size() || p[j] != '}') return q;
    q.length = j - i + 1;
    q.unbounded = comma && second < 0;
    q.largest_count = std::max(first, second);
  }
  if (q.length && i + q.length < p.size() && p[i + q.length] == '?') ++q.length;
  return q;
}

// One use of std::regex on the helper thread: compile `pattern`, then search `text` unless it is
// null.
struct Job {
  const std::string* text = nullptr;
  const std::string* pattern = nullptr;
  bool found = false;
  std::string error;
};

void* run_job(void* arg) {
  auto* job = static_cast<Job*>(arg);
  try {
    std::regex re(*job->pattern, std::regex::ECMAScript);
    if (job->text) job->found = std::regex_search(*job->text, re);
  } catch (const std::regex_error& e) {
    job->error = "bad regex \"" + *job->pattern + "\": " + e.what();
  } catch (const std::exception& e) {
    job->error = "regex \"" + *job->pattern + "\" failed: " + e.what();
  }
  return nullptr;
}

// The refusals of the header, without compiling: ok or kInvalidInput.
Status refusal_of(const std::string& p, size_t max_length) {
  if (p.size() > max_length) {
    return make_error(ErrorCode::kInvalidInput, "regex is " + std::to_string(p.size()) +
                                                    " characters long, over the limit of " +
                                                    std::to_string(max_length));
  }
  // For each open group: whether it contains unbounded repetition.
  std::vector<bool> groups{false};
  bool closed_group_unbounded = false;  // the group that just closed, if the last atom was one
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    bool atom_was_group = false;
    if (c == '\\') {
      if (i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9') {
        return refused(p, "backreferences can take exponential time");
      }
      ++i;
    } else if (c == '[') {
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      i = j;
    } else if (c == '(') {
      groups.push_back(false);
      continue;
    } else if (c == ')') {
      if (groups.size() > 1) {
        closed_group_unbounded = groups.back();
        groups.pop_back();
        groups.back() = groups.back() || closed_group_unbounded;
        atom_was_group = true;
      }
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      continue;  // a quantifier with nothing before it: std::regex reports it
    }
    Quantifier q = quantifier_at(p, i + 1);
    if (q.length == 0) continue;
    if (q.largest_count > kMaxRegexRepeat) {
      return refused(p, "a repetition count is over " + std::to_string(kMaxRegexRepeat));
    }
    if (q.unbounded && atom_was_group && closed_group_unbounded) {
      return refused(p, "nested repetition such as (a+)+ can take exponential time");
    }
    if (q.unbounded) groups.back() = true;
    // ECMAScript allows one quantifier per atom; std::regex reads a+* as (a+)*, unchecked.
    if (quantifier_at(p, i + 1 + q.length).length != 0) {
      return refused(p, "a quantifier follows another, as in a+*");
    }
    i += q.length;
  }
  return ok_status();
}

// Runs `job` on a thread with a kRegexStackBytes stack.
Status run_on_helper_thread(Job& job) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    return make_error(ErrorCode::kInternal, "cannot start the regex matcher");
  }
  pthread_attr_setstacksize(&attr, kRegexStackBytes);
  pthread_t thread;
  const int started = pthread_create(&thread, &attr, run_job, &job);
  pthread_attr_destroy(&attr);
  if (started != 0) {
    return make_error(ErrorCode::kInternal,
                      "cannot start the regex matcher (error " + std::to_string(started) + ")");
  }
  pthread_join(thread, nullptr);
  if (!job.error.empty()) return make_error(ErrorCode::kInvalidInput, job.error);
  return ok_status();
}

}  // namespace

Status check_regex_pattern(const std::string& pattern, size_t max_length) {
  Status refused = refusal_of(pattern, max_length);
  if (!refused.ok()) return refused;
  Job job;
  job.pattern = &pattern;
  return run_on_helper_thread(job);
}

Result<bool> regex_search_checked(const std::string& text, const std::string& pattern,
                                  size_t max_length) {
  Status refused = refusal_of(pattern, max_length);
  if (!refused.ok()) return std::move(refused).error();
  Job job;
  job.text = &text;
  job.pattern = &pattern;
  Status ran = run_on_helper_thread(job);
  if (!ran.ok()) return std::move(ran).error();
  return job.found;
}

}  // namespace pl
