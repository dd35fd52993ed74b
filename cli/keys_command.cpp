#include "cli/keys_command.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/cli_context.h"
#include "common/net/curve_keys.h"

namespace pl::cli {
namespace {

struct KeysArgs {
  std::string out = ".";
  std::string name;
  bool force = false;
  std::string file;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string default_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string name = host;
  return net::valid_key_name(name) ? name : "pipeline";
}

int generate(const KeysArgs& a) {
  const std::string name = a.name.empty() ? default_name() : a.name;
  auto pair = net::write_keypair_files(a.out, name, a.force, utc_now());
  if (!pair.ok()) {
    std::cerr << "pipelinectl: " << pair.error().message << "\n";
    return exit_code_for(pair.error().code);
  }
  const std::filesystem::path dir(a.out);
  std::cerr << "wrote " << (dir / (name + ".key")).string() << " (secret, mode 0600) and "
            << (dir / (name + ".pub")).string() << "\n";
  std::cout << pair->public_key.z85() << "\n";
  return kExitOk;
}

int show_public(const KeysArgs& a) {
  auto pair = net::load_secret_key_file(a.file);
  if (!pair.ok()) {
    std::cerr << "pipelinectl: " << pair.error().message << "\n";
    return exit_code_for(pair.error().code);
  }
  std::cout << pair->public_key.z85() << "\n";
  return kExitOk;
}

}  // namespace

void add_keys_commands(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<KeysArgs>();
  CLI::App* keys = app.add_subcommand("keys", "CURVE keys for tcp:// endpoints (multi-host)");
  keys->require_subcommand(1);

  CLI::App* gen = keys->add_subcommand("generate", "Write a new key pair: NAME.key and NAME.pub");
  gen->add_option("--out", a->out, "Directory to write into (created mode 0700 if missing)");
  CLI::Option* name =
      gen->add_option("--name", a->name, "Name of the key pair (default: the host name)");
  gen->add_flag("--force", a->force, "Replace existing files");
  gen->callback([a, name, &exit_code] {
    // An empty name given on purpose is a mistake, not a request for the default.
    exit_code = name->count() > 0 && a->name.empty()
                    ? (std::cerr << "pipelinectl: --name is empty\n", kExitUsage)
                    : generate(*a);
  });

  CLI::App* pub = keys->add_subcommand("public", "Print the public key of a secret key file");
  pub->add_option("file", a->file, "A NAME.key file")->required();
  pub->callback([a, &exit_code] { exit_code = show_public(*a); });
}

}  // namespace pl::cli
