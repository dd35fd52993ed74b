// The guard process on its own: the groups it is started with are killed when its pipe closes,
// however soon that is.
#include "supervisor/tree_guard.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/harness.h"

namespace pl::supervisor {
namespace {

using namespace std::chrono_literals;

// A process that waits in a process group of its own until it is killed.
pid_t start_group_leader() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    for (;;) ::pause();
  }
  ::setpgid(pid, pid);
  return pid;
}

// How `pid` ended, waited for with a deadline: the signal that killed it, or 0.
int killed_by(pid_t pid) {
  int status = 0;
  const bool ended = test::wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return 0;
  }
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

TEST(TreeGuard, GroupsGivenAtStartAreKilledEvenWhenThePipeClosesAtOnce) {
  const pid_t first = start_group_leader();
  const pid_t second = start_group_leader();
  auto guard = TreeGuard::start({first, second});
  ASSERT_TRUE(guard.ok()) << guard.error().message;
  guard->stop();  // as if the supervisor died right after the fork
  EXPECT_EQ(killed_by(first), SIGKILL);
  EXPECT_EQ(killed_by(second), SIGKILL);
}

TEST(TreeGuard, AGroupUnwatchedIsLeftAlone) {
  const pid_t kept = start_group_leader();
  const pid_t killed = start_group_leader();
  auto guard = TreeGuard::start({kept});
  ASSERT_TRUE(guard.ok()) << guard.error().message;
  guard->watch(killed);
  guard->unwatch(kept);
  guard->stop();
  EXPECT_EQ(killed_by(killed), SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(kept, &status, WNOHANG), 0) << "the unwatched group was killed";
  ::kill(kept, SIGKILL);
  ::waitpid(kept, nullptr, 0);
}

}  // namespace
}  // namespace pl::supervisor
