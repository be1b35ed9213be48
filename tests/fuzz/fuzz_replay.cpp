// Replays a corpus through one fuzz property (fuzz_regress: both protocol properties) without
// libFuzzer: every file, plus (when TURND_FUZZ_MUTATE is 1 and the file is small) every truncation
// and a one-bit flip of every byte. Built once per target as fuzz_regress_<name> with
// TURND_FUZZ_CHECK naming the property; registered as ctest fuzz.regress.<name> so every build
// checks the committed corpus and every committed crash input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz_targets.hpp"

#ifndef TURND_FUZZ_MUTATE
#define TURND_FUZZ_MUTATE 1
#endif

namespace {

constexpr std::size_t kMutateUpTo = 1024;  // bytes; larger files are checked as they are

std::size_t check_all(const std::vector<std::uint8_t>& bytes) {
  auto check = [](const std::uint8_t* data, std::size_t size) {
    turnd::fuzz::TURND_FUZZ_CHECK(data, size);
  };
  check(bytes.data(), bytes.size());
  if (!TURND_FUZZ_MUTATE || bytes.size() > kMutateUpTo) return 1;
  std::size_t inputs = 1;
  for (std::size_t n = 0; n < bytes.size(); ++n, ++inputs) check(bytes.data(), n);
  std::vector<std::uint8_t> flipped = bytes;
  for (std::size_t i = 0; i < flipped.size(); ++i, ++inputs) {
    flipped[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
    check(flipped.data(), flipped.size());
    flipped[i] = bytes[i];
  }
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  std::size_t files = 0, inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i]))
      if (entry.is_regular_file()) paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      std::printf("%s\n", path.c_str());  // a failed property aborts: the last name is the input
      std::fflush(stdout);
      std::ifstream in(path, std::ios::binary);
      const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
      inputs += check_all(bytes);
      ++files;
    }
  }
  std::printf("%s: %zu files, %zu inputs: all properties hold\n", argv[0], files, inputs);
  return files == 0 ? 1 : 0;  // an empty corpus means a wrong path, not a pass
}
