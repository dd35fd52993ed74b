#include <gtest/gtest.h>

#include "common/config/yaml_document.h"
#include "supervisor/config_loader.h"

namespace pl::supervisor {
namespace {

Result<TreeSpec> load(std::string_view text) {
  auto doc = parse_yaml(text, "t.yaml");
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().message);
  CommandLookup lookup{"/bin", "/usr/bin"};
  return read_tree_spec(*doc, lookup, "/tmp");
}

std::string error_of(std::string_view text) {
  auto tree = load(text);
  return tree.ok() ? std::string("(loaded)") : tree.error().message;
}

TEST(ConfigLoader, ReadsTheDefaultTreeShape) {
  auto tree = load(R"(
supervisor:
  name: top
  strategy: rest_for_one
  intensity: 3
  period: 7
  state_dir: ./v
children:
  - name: broker
    command: [sh, -c, "exit 0"]
    env: {A: 1}
    ready: notify
    ready_timeout: 500
    shutdown: brutal_kill
    restart: transient
  - name: workers
    type: pool
    count: 2
    max_children: 4
    command: [/bin/sh]
    backoff: {initial_ms: 10, max_ms: 100}
  - name: sub
    type: supervisor
    strategy: one_for_all
    auto_shutdown: any_significant
    children:
      - {name: job, command: [true], restart: temporary, significant: true}
broker: {anything: [goes, here]}
worker: {slots: 1}
)");
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  const ChildSpec& root = tree->root;
  EXPECT_EQ(root.name, "top");
  EXPECT_EQ(root.flags.strategy, Strategy::kRestForOne);
  EXPECT_EQ(root.flags.intensity, 3);
  EXPECT_EQ(root.flags.period_s, 7);
  EXPECT_EQ(tree->state_dir, "./v");
  ASSERT_EQ(root.children.size(), 3u);
  const ChildSpec& broker = root.children[0];
  EXPECT_EQ(broker.process.executable, "/bin/sh");
  EXPECT_EQ(broker.process.cwd, "/tmp");
  EXPECT_TRUE(broker.process.brutal_kill);
  EXPECT_EQ(broker.process.ready, ReadyMode::kNotify);
  EXPECT_EQ(broker.process.ready_timeout_ms, 500);
  EXPECT_EQ(broker.restart, RestartType::kTransient);
  EXPECT_EQ(broker.process.env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}}));
  const ChildSpec& pool = root.children[1];
  EXPECT_EQ(pool.type, ChildType::kPool);
  EXPECT_EQ(pool.count, 2);
  EXPECT_EQ(pool.max_children, 4);
  EXPECT_EQ(pool.flags.intensity, 3);  // a pool inherits its supervisor's intensity
  EXPECT_EQ(pool.process.backoff.initial_ms, 10);
  const ChildSpec& sub = root.children[2];
  EXPECT_EQ(sub.flags.strategy, Strategy::kOneForAll);
  ASSERT_EQ(sub.children.size(), 1u);
  EXPECT_TRUE(sub.children[0].significant);
}

TEST(ConfigLoader, DefaultsAreOtps) {
  auto tree = load("children:\n  - {name: a, command: [sh]}\n");
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_EQ(tree->root.name, "root");
  EXPECT_EQ(tree->root.flags.intensity, 1);
  EXPECT_EQ(tree->root.flags.period_s, 5);
  EXPECT_EQ(tree->root.children[0].restart, RestartType::kPermanent);
  EXPECT_EQ(tree->root.children[0].process.shutdown_ms, 5000);
  EXPECT_EQ(tree->root.children[0].process.ready, ReadyMode::kExec);
}

TEST(ConfigLoader, UnknownKeyNamesFileLineColumnAndSuggests) {
  EXPECT_EQ(error_of("children:\n  - name: a\n    command: [sh]\n    restrat: permanent\n"),
            "t.yaml:4:5: unknown key \"children.0.restrat\" (did you mean \"restart\"?)");
}

TEST(ConfigLoader, UnknownTopLevelKeyIsAnError) {
  EXPECT_EQ(error_of("childrn: []\n"),
            "t.yaml:1:1: unknown key \"childrn\" (did you mean \"children\"?)");
  // Sections no program reads are mistakes too, not settings silently ignored.
  EXPECT_NE(error_of("observability: {tracing: true}\n").find("unknown key \"observability\""),
            std::string::npos);
}

TEST(ConfigLoader, AFileThatIsNotAMappingIsOneErrorAtItsStart) {
  // Not also "supervisor must be a mapping, not a string": a list has no key "supervisor".
  EXPECT_EQ(error_of("- a\n- b\n"), "t.yaml:1:1: the file must be a mapping, not a list");
}

TEST(ConfigLoader, ACommandThatIsNotAListIsOneError) {
  EXPECT_EQ(error_of("children:\n  - {name: a, command: sh}\n"),
            "t.yaml:2:24: children.0.command: expected a list of strings, got a string");
  EXPECT_EQ(error_of("children:\n  - {name: a, command: [[sh]]}\n"),
            "t.yaml:2:25: children.0.command[0]: expected a string");
  EXPECT_EQ(error_of("children:\n  - {name: a, command: []}\n"),
            "t.yaml:2:24: children.0.command: the command is an empty list");
}

TEST(ConfigLoader, WrongTypeIsAnError) {
  EXPECT_EQ(error_of("children:\n  - {name: a, command: [sh], shutdown: [1]}\n"),
            "t.yaml:2:40: children.0.shutdown: expected an integer, got a list");
  // A word is one error that says what words are allowed.
  EXPECT_EQ(error_of("children:\n  - {name: a, command: [sh], shutdown: soon}\n"),
            "t.yaml:2:40: children.0.shutdown: expected milliseconds or brutal_kill, got \"soon\"");
}

TEST(ConfigLoader, NegativeIntensityIsAnError) {
  EXPECT_EQ(error_of("supervisor:\n  intensity: -1\n"),
            "t.yaml:2:14: supervisor.intensity: -1 is out of range (0 to 1000000)");
}

TEST(ConfigLoader, DuplicateNamesAreAnError) {
  EXPECT_EQ(error_of("children:\n  - {name: a, command: [sh]}\n  - {name: a, command: [sh]}\n"),
            "t.yaml:3:12: children.1.name: duplicate name \"a\" (first used at t.yaml:2:12)");
}

TEST(ConfigLoader, CommandNotFoundIsAnError) {
  const std::string e = error_of("children:\n  - {name: a, command: [no-such-program-xyz]}\n");
  EXPECT_EQ(e.rfind("t.yaml:2:24: children.0.command: command \"no-such-program-xyz\" not found", 0), 0u)
      << e;
}

TEST(ConfigLoader, SignificantPermanentChildIsAnError) {
  const std::string e = error_of(
      "supervisor: {auto_shutdown: any_significant}\n"
      "children:\n  - {name: a, command: [sh], significant: true}\n");
  EXPECT_NE(e.find("t.yaml:3:43: children.0.significant: a permanent child cannot be significant"),
            std::string::npos)
      << e;
}

TEST(ConfigLoader, SignificantChildNeedsAutoShutdown) {
  const std::string e = error_of(
      "children:\n  - {name: a, command: [sh], restart: temporary, significant: true}\n");
  EXPECT_NE(e.find("need a supervisor whose auto_shutdown"), std::string::npos) << e;
}

TEST(ConfigLoader, ASignificantPoolIsAnError) {
  const std::string e = error_of(
      "supervisor: {auto_shutdown: any_significant}\n"
      "children:\n  - {name: p, type: pool, command: [sh], restart: transient, significant: true}\n");
  EXPECT_NE(e.find("children.0.significant: a pool cannot be significant"), std::string::npos) << e;
}

TEST(ConfigLoader, SupervisorsNestedMoreThanSixteenDeepAreAnError) {
  // Depth 17: a chain of nested supervisors with a worker at the bottom.
  std::string text = "children:\n";
  std::string indent = "  ";
  for (int depth = 1; depth <= 17; ++depth) {
    text += indent + "- name: s" + std::to_string(depth) + "\n" + indent + "  type: supervisor\n" +
            indent + "  children:\n";
    indent += "    ";
  }
  text += indent + "- {name: w, command: [sh]}\n";
  const std::string e = error_of(text);
  EXPECT_NE(e.find("supervisors are nested more than 16 deep"), std::string::npos) << e;
}

TEST(ConfigLoader, NamesWithDotsAreRefused) {
  EXPECT_NE(error_of("children:\n  - {name: a.b, command: [sh]}\n").find("not a valid name"),
            std::string::npos);
}

TEST(ConfigLoader, PoolCountOverMaxChildrenIsAnError) {
  EXPECT_NE(error_of("children:\n  - {name: w, type: pool, count: 5, max_children: 2, command: [sh]}\n")
                .find("is over max_children"),
            std::string::npos);
}

TEST(ConfigLoader, KeysOfAnotherTypeAreUnknown) {
  EXPECT_NE(error_of("children:\n  - {name: w, count: 5, command: [sh]}\n").find("unknown key"),
            std::string::npos);
}

TEST(ConfigLoader, ReportsEveryProblemAtOnce) {
  const std::string e = error_of(
      "supervisor: {intensity: -1, strategy: one_for_none}\n"
      "children:\n  - {name: a}\n  - {name: b, command: [sh], ready: sometimes}\n");
  EXPECT_NE(e.find("intensity"), std::string::npos);
  EXPECT_NE(e.find("one_for_none"), std::string::npos);
  EXPECT_NE(e.find("a child needs a command"), std::string::npos);
  EXPECT_NE(e.find("sometimes"), std::string::npos);
}

TEST(CommandLookup, BareNameIsFoundBesideThenInPath) {
  CommandLookup lookup{"/nonexistent", "/usr/bin:/bin"};
  auto found = lookup.resolve("sh", "/");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(*found == "/usr/bin/sh" || *found == "/bin/sh") << *found;
}

TEST(CommandLookup, PathWithSlashIsRelativeToCwd) {
  CommandLookup lookup{"", ""};
  auto found = lookup.resolve("./sh", "/bin");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, "/bin/sh");
  EXPECT_EQ(lookup.resolve("./nope", "/bin").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace pl::supervisor
