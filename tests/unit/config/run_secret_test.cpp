// The generated run secret's file (config/run_secret.hpp) and the URIs of the logged iceServers
// entry (config/advertised_uris.hpp).
#include "config/run_secret.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "config/advertised_uris.hpp"

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

TEST(AdvertisedUris, ConcreteExternalAndWildcard) {
  Config c;
  c.listen = {*protocol::TransportAddress::parse("127.0.0.1:3478"),
              *protocol::TransportAddress::parse("[::1]:3479")};
  EXPECT_EQ(advertised_turn_uris(c),
            (std::vector<std::string>{
                "turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp",
                "turn:[::1]:3479?transport=udp", "turn:[::1]:3479?transport=tcp"}));

  c.listen = {*protocol::TransportAddress::parse("0.0.0.0:3478")};
  c.external_ips = {ExternalIp{*protocol::IpAddress::parse("203.0.113.7"), std::nullopt}};
  EXPECT_EQ(advertised_turn_uris(c),
            (std::vector<std::string>{"turn:203.0.113.7:3478?transport=udp",
                                      "turn:203.0.113.7:3478?transport=tcp"}));

  c.external_ips.clear();
  c.listen = {*protocol::TransportAddress::parse("0.0.0.0:3478"),
              *protocol::TransportAddress::parse("[::]:3478")};
  const auto uris = advertised_turn_uris(c);
  ASSERT_GE(uris.size(), 4u);  // at least one address per family (loopback when nothing else)
  for (const auto& u : uris) {
    EXPECT_EQ(u.find("0.0.0.0"), std::string::npos) << u;
    EXPECT_EQ(u.find("[::]"), std::string::npos) << u;
    EXPECT_EQ(u.find("fe80"), std::string::npos) << u;
  }
}

}  // namespace
}  // namespace turnd::config
