// The properties behind the libFuzzer targets, callable without libFuzzer so fuzz_regress can
// check them over the committed corpus in every build. A violated property aborts
// (TURND_ASSERT, always on in these translation units).
#pragma once

#include <cstddef>
#include <cstdint>

namespace turnd::fuzz {

/// fuzz_message: parse; decode everything; parse(encode(parse(x))) == parse(x); builder MACs
/// verify. Returns 0 (libFuzzer's "keep going").
int check_message(const std::uint8_t* data, std::size_t size);
/// fuzz_framing: ChannelData parse and stream framing, chunked arbitrarily. Returns 0.
int check_framing(const std::uint8_t* data, std::size_t size);

}  // namespace turnd::fuzz
