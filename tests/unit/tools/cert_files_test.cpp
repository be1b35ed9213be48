// turnctl cert self-signed's files (tools/turnctl/cert_files.hpp): the key is 0600 from its
// creation whatever the umask, nothing existing is overwritten without --force, --force
// replaces by rename (a symlink is replaced, not followed), and errors name the path.
#include "tools/turnctl/cert_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace turnd::turnctl {
namespace {

namespace fs = std::filesystem;

class CertFilesTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("cert_files_test_" +
            std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // 0: a mode the umask would otherwise hide is seen; the key must be 0600 by itself.
    old_umask_ = ::umask(0);
  }
  void TearDown() override {
    ::umask(old_umask_);
    fs::remove_all(dir_);
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static mode_t mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  std::string error_of(const fs::path& dir, bool force) {
    try {
      write_cert_files(dir, "CERT", "KEY", force);
    } catch (const CertFileError& e) {
      return e.what();
    }
    return "(no error)";
  }
  // The names in dir_, to see that no temporary file is left.
  std::vector<std::string> listing() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(CertFilesTest, WritesKey0600AndCert0644) {
  const auto paths = write_cert_files(dir_, "CERT", "KEY", false);
  EXPECT_EQ(paths.cert, dir_ / "cert.pem");
  EXPECT_EQ(paths.key, dir_ / "key.pem");
  EXPECT_EQ(read(paths.cert), "CERT");
  EXPECT_EQ(read(paths.key), "KEY");
  EXPECT_EQ(mode(paths.key), 0600u);
  EXPECT_EQ(mode(paths.cert), 0644u);
  EXPECT_EQ(listing(), (std::vector<std::string>{"cert.pem", "key.pem"}));
}

// Either file existing stops it before anything is written; the message says --force.
TEST_F(CertFilesTest, RefusesToOverwrite) {
  for (const char* existing : {"cert.pem", "key.pem"}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / existing) << "OLD";
    const auto error = error_of(dir_, false);
    EXPECT_NE(error.find((dir_ / existing).string()), std::string::npos) << error;
    EXPECT_NE(error.find("--force"), std::string::npos) << error;
    EXPECT_EQ(read(dir_ / existing), "OLD");
    EXPECT_EQ(listing(), std::vector<std::string>{existing});
  }
}

// A key.pem symlink (even a dangling one) is not written through.
TEST_F(CertFilesTest, RefusesASymlink) {
  const auto target = dir_ / "elsewhere";
  fs::create_symlink(target, dir_ / "key.pem");
  EXPECT_NE(error_of(dir_, false).find("will not overwrite"), std::string::npos);
  EXPECT_FALSE(fs::exists(target));

  // --force replaces the link itself.
  std::ofstream(target) << "TARGET";
  write_cert_files(dir_, "CERT", "KEY", true);
  EXPECT_EQ(read(target), "TARGET");
  EXPECT_FALSE(fs::is_symlink(dir_ / "key.pem"));
  EXPECT_EQ(read(dir_ / "key.pem"), "KEY");
}

// --force: new contents, and a key that was world-readable before is 0600 now (a new file, not
// the old one truncated); no temporary file stays behind.
TEST_F(CertFilesTest, ForceReplaces) {
  std::ofstream(dir_ / "cert.pem") << "OLD CERT";
  std::ofstream(dir_ / "key.pem") << "OLD KEY";
  ::chmod((dir_ / "key.pem").c_str(), 0644);
  write_cert_files(dir_, "CERT", "KEY", true);
  EXPECT_EQ(read(dir_ / "cert.pem"), "CERT");
  EXPECT_EQ(read(dir_ / "key.pem"), "KEY");
  EXPECT_EQ(mode(dir_ / "key.pem"), 0600u);
  EXPECT_EQ(listing(), (std::vector<std::string>{"cert.pem", "key.pem"}));
  // And with nothing to replace.
  fs::remove(dir_ / "cert.pem");
  fs::remove(dir_ / "key.pem");
  write_cert_files(dir_, "C2", "K2", true);
  EXPECT_EQ(read(dir_ / "key.pem"), "K2");
  EXPECT_EQ(mode(dir_ / "key.pem"), 0600u);
}

TEST_F(CertFilesTest, DirectoryErrors) {
  const auto missing = dir_ / "missing";
  EXPECT_EQ(error_of(missing, false),
            missing.string() + ": no such directory (create it, or choose another --out)");
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(error_of(dir_ / "file", true), (dir_ / "file").string() + " is not a directory");
}

// A directory this user cannot write: the error names the file and asks about the directory.
// Root writes anywhere, so this needs an ordinary user.
TEST_F(CertFilesTest, UnwritableDirectory) {
  if (::geteuid() == 0) GTEST_SKIP() << "root bypasses directory permissions";
  const auto ro = dir_ / "ro";
  fs::create_directories(ro);
  ::chmod(ro.c_str(), 0555);
  const auto error = error_of(ro, false);
  ::chmod(ro.c_str(), 0755);
  EXPECT_NE(error.find("cannot create " + (ro / "key.pem").string()), std::string::npos) << error;
  EXPECT_NE(error.find("writable by this user"), std::string::npos) << error;
}

}  // namespace
}  // namespace turnd::turnctl
