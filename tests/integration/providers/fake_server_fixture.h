// One pipeline-fake-llm per test suite, shared by its tests (scripted markers keep them apart).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tests/fakes/fake_llm_process.h"

namespace pl::test {

class FakeServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<fakes::FakeLlmServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  static fakes::FakeLlmServer& server() { return *server_; }

 private:
  static inline std::unique_ptr<fakes::FakeLlmServer> server_;
};

}  // namespace pl::test
