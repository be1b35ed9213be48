// The generated run secret's file (config/run_secret.hpp).
#include "config/run_secret.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace turnd::config {
namespace {

namespace fs = std::filesystem;

class RunSecretTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/turnd-run-secret-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::setenv("RUNTIME_DIRECTORY", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("RUNTIME_DIRECTORY");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(RunSecretTest, WrittenPrivateReadBackAndRemovedOnlyIfStillOurs) {
  EXPECT_EQ(run_secret_dirs().front(), dir_);
  const auto file = write_run_secret("s3cret");
  EXPECT_EQ(file, dir_ / kRunSecretFile);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto found = read_run_secret();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->file, file);
  EXPECT_EQ(found->secret, "s3cret");

  write_run_secret("newer");  // another run replaced it: the old one must not delete it
  remove_run_secret(file, "s3cret");
  EXPECT_TRUE(fs::exists(file));
  remove_run_secret(file, "newer");
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(RunSecretTest, AFileOthersCanWriteIsRefused) {
  const auto file = dir_ / kRunSecretFile;
  std::ofstream(file) << "planted\n";
  ::chmod(file.c_str(), 0666);
  EXPECT_THROW(read_run_secret(), std::runtime_error);
}

}  // namespace
}  // namespace turnd::config
