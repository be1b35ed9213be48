// Escaping of client-chosen values in log lines (server/log_text.hpp): table cases over the
// byte classes that can forge or hide a line, and round-trip properties over random bytes.
#include "server/log_text.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <random>

namespace turnd::server {
namespace {

struct Case {
  std::string_view name;
  std::string input, log, json;
};

const Case kCases[] = {
    {"plain", "alice", "alice", "alice"},
    {"rest_username", "1700000000:alice", "1700000000:alice", "1700000000:alice"},
    {"utf8_kept", "Zo\xc3\xab \xe6\x97\xa5", "Zo\xc3\xab \xe6\x97\xa5", "Zo\xc3\xab \xe6\x97\xa5"},
    {"quote_backslash", R"(a"b\c)", R"(a\"b\\c)", R"(a\"b\\c)"},
    {"newline_forges_a_line", "x\" 2024-01-01 00:00:00.000 info forged\n",
     R"(x\" 2024-01-01 00:00:00.000 info forged\n)",
     R"(x\" 2024-01-01 00:00:00.000 info forged\n)"},
    {"cr_tab", "a\rb\tc", R"(a\rb\tc)", R"(a\rb\tc)"},
    {"nul", std::string("a\0b", 3), R"(a\x00b)", R"(a\u0000b)"},
    {"escape_and_del", "\x1b[2J\x7f", R"(\x1b[2J\x7f)", R"(\u001b[2J\u007f)"},
    {"invalid_byte", "a\xff", R"(a\xff)", R"(a\ufffd)"},
    {"truncated_sequence", "\xe6\x97", R"(\xe6\x97)", R"(\ufffd\ufffd)"},
    {"overlong_slash", "\xc0\xaf", R"(\xc0\xaf)", R"(\ufffd\ufffd)"},
    {"surrogate", "\xed\xa0\x80", R"(\xed\xa0\x80)", R"(\ufffd\ufffd\ufffd)"},
    {"above_10ffff", "\xf4\x90\x80\x80", R"(\xf4\x90\x80\x80)", R"(\ufffd\ufffd\ufffd\ufffd)"},
    {"c1_next_line", "a\xc2\x85z", R"(a\u0085z)", "a\xc2\x85z"},
    {"line_separator", "a\xe2\x80\xa8z", R"(a\u2028z)", R"(a\u2028z)"},
    {"bidi_override", "a\xe2\x80\xaez", R"(a\u202ez)", "a\xe2\x80\xaez"},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Escaping : public testing::TestWithParam<Case> {};

TEST_P(Escaping, ForLogAndJson) {
  const auto& c = GetParam();
  EXPECT_EQ(escape_for_log(c.input), c.log);
  EXPECT_EQ(escape_for_json(c.input), c.json);
}

INSTANTIATE_TEST_SUITE_P(Cases, Escaping, testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(LogSafe, FormatsEscapedInsideQuotes) {
  EXPECT_EQ(fmt::format("user \"{}\" ok", logsafe("a\"\nb")), R"(user "a\"\nb" ok)");
  EXPECT_EQ(fmt::format("{:>6}", logsafe("\n")), R"(    \n)");
}

TEST(EscapeControls, OnlyControlBytes) {
  EXPECT_EQ(escape_controls("a\"\\b\n\x01\xff"), "a\"\\b\\x0a\\x01\xff");
}

/// Inverse of escape_for_log, to show that no two values are logged alike.
std::string unescape_log(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    const char k = s[++i];
    if (k == 'n') out += '\n';
    if (k == 'r') out += '\r';
    if (k == 't') out += '\t';
    if (k == '"' || k == '\\') out += k;
    if (k == 'x') {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
    if (k == 'u') {
      const auto cp = std::stoi(std::string(s.substr(i + 1, 4)), nullptr, 16);
      i += 4;
      if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
      } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      }
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

std::string random_bytes(std::mt19937& rng, bool ascii_heavy) {
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255), pick(0, 9);
  const char* interesting[] = {
      "\"",       "\\",           "\n",   "\r", "\xc3\xab", "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
      "\xc2\x85", "\xed\xa0\x80", "\\x41"};
  std::string s;
  for (int n = len(rng); n > 0; --n) {
    if (ascii_heavy && pick(rng) < 4)
      s += interesting[pick(rng)];
    else
      s += static_cast<char>(byte(rng));
  }
  return s;
}

TEST(LogSafe, RandomBytesRoundTripOnOneSafeLine) {
  std::mt19937 rng{20240601};
  for (int i = 0; i < 20000; ++i) {
    const auto s = random_bytes(rng, i % 2 == 0);
    const auto e = escape_for_log(s);
    ASSERT_EQ(unescape_log(e), s) << e;
    for (std::size_t k = 0; k < e.size(); ++k) {
      const auto b = static_cast<unsigned char>(e[k]);
      ASSERT_TRUE(b >= 0x20 && b != 0x7f) << e;
      if (b == '"') {
        ASSERT_EQ(e[k - 1], '\\') << e;
      }
    }
    // Printable UTF-8: a JSON parser accepts it as a string's contents once " and \ are escaped.
    ASSERT_NO_THROW(boost::json::parse("\"" + escape_for_json(e) + "\"")) << e;
  }
}

TEST(EscapeForJson, RandomBytesAlwaysParseAndValidUtf8RoundTrips) {
  std::mt19937 rng{7};
  for (int i = 0; i < 20000; ++i) {
    const auto s = random_bytes(rng, i % 2 == 0);
    const auto doc = "\"" + escape_for_json(s) + "\"";
    boost::system::error_code ec;
    const auto v = boost::json::parse(doc, ec);
    ASSERT_FALSE(ec) << doc;
    if (escape_for_log(s).find("\\x") == std::string::npos && s.find("\\x") == std::string::npos) {
      EXPECT_EQ(std::string(v.as_string()), s) << doc;  // valid UTF-8 comes back unchanged
    }
  }
}

// Client bytes as a Boost.JSON value (the admin allocation list): always a document that
// parses, valid UTF-8 unchanged, each invalid byte one U+FFFD.
TEST(ToValidUtf8, JsonValueOfRandomBytesParses) {
  EXPECT_EQ(to_valid_utf8("Zo\xc3\xab\x1b"), "Zo\xc3\xab\x1b");
  EXPECT_EQ(to_valid_utf8("a\xff\xc0\xaf"
                          "b"),
            "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
            "b");
  std::mt19937 rng{11};
  for (int i = 0; i < 20000; ++i) {
    const auto s = random_bytes(rng, i % 2 == 0);
    const auto doc = boost::json::serialize(boost::json::value(to_valid_utf8(s)));
    boost::system::error_code ec;
    const auto v = boost::json::parse(doc, ec);
    ASSERT_FALSE(ec) << doc;
    if (escape_for_log(s).find("\\x") == std::string::npos && s.find("\\x") == std::string::npos) {
      EXPECT_EQ(std::string(v.as_string()), s) << doc;  // valid UTF-8 comes back unchanged
    }
  }
}

}  // namespace
}  // namespace turnd::server
