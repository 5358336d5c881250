#include "csv/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "common/threads.h"

namespace rx::csv {

namespace {

constexpr std::size_t NPOS = static_cast<std::size_t>(-1);

// ---- hashing ------------------------------------------------------------------------------
inline uint64_t hash_bytes(const char* p, std::size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0x87c37b91114253d5ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0x4cf5ad432745937full;
  h ^= h >> 32;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// ---- fields -------------------------------------------------------------------------------
struct Field {
  const char* b;
  const char* e;
  const char* tb;  // text after a closing quote (messy field), else null
  const char* te;
  bool quoted;
  bool escaped;  // contains doubled quotes
};

enum RowStatus { kRow, kIncomplete, kUnterminated };

// Tokenizes one row starting at p. On kRow, `next` is the first byte of the next row.
// On kUnterminated, `bad` is the offset of the opening quote.
RowStatus tokenize(const char* buf, std::size_t len, std::size_t p, bool final, char delim, char quote,
                   std::vector<Field>& out, std::size_t& next, std::size_t& bad) {
  out.clear();
  std::size_t i = p;
  for (;;) {
    Field f{nullptr, nullptr, nullptr, nullptr, false, false};
    if (quote && i < len && buf[i] == quote) {
      std::size_t q = i + 1;
      bool esc = false;
      std::size_t close;
      for (;;) {
        const void* hit = q < len ? std::memchr(buf + q, quote, len - q) : nullptr;
        if (!hit) {
          if (final) {
            bad = i;
            return kUnterminated;
          }
          return kIncomplete;
        }
        std::size_t k = static_cast<const char*>(hit) - buf;
        if (k + 1 < len && buf[k + 1] == quote) {
          esc = true;
          q = k + 2;
          continue;
        }
        if (k + 1 >= len && !final) return kIncomplete;
        close = k;
        break;
      }
      f.b = buf + i + 1;
      f.e = buf + close;
      f.quoted = true;
      f.escaped = esc;
      i = close + 1;
      if (i < len && buf[i] != delim && buf[i] != '\n' && buf[i] != '\r') {
        std::size_t j = i;
        while (j < len && buf[j] != delim && buf[j] != '\n' && buf[j] != '\r') ++j;
        f.tb = buf + i;
        f.te = buf + j;
        i = j;
      }
    } else {
      std::size_t j = i;
      while (j < len) {
        char c = buf[j];
        if (c == delim || c == '\n' || c == '\r') break;  // a lone '\r' ends a row too (old Mac files)
        ++j;
      }
      f.b = buf + i;
      f.e = buf + j;
      i = j;
    }
    out.push_back(f);
    if (i >= len) {
      if (!final) return kIncomplete;
      next = len;
      return kRow;
    }
    char c = buf[i];
    if (c == delim) {
      ++i;
      continue;
    }
    if (c == '\n') {
      next = i + 1;
      return kRow;
    }
    // '\r'
    if (i + 1 < len && buf[i + 1] == '\n') {
      next = i + 2;
      return kRow;
    }
    if (i + 1 >= len && !final) return kIncomplete;
    next = i + 1;
    return kRow;
  }
}

// A row that is empty or holds only spaces/tabs (skipped, like fread's blank.lines.skip).
inline bool is_blank_row(const std::vector<Field>& f) {
  if (f.size() != 1 || f[0].quoted) return false;
  for (const char* p = f[0].b; p < f[0].e; ++p)
    if (*p != ' ' && *p != '\t') return false;
  return true;
}

// Line breaks in [b, e): '\n', '\r\n' and a lone '\r' each count once.
inline std::size_t count_lines(const char* b, const char* e) {
  std::size_t n = static_cast<std::size_t>(std::count(b, e, '\n'));
  const char* p = b;
  while (p < e) {
    const void* hit = std::memchr(p, '\r', static_cast<std::size_t>(e - p));
    if (!hit) break;
    const char* r = static_cast<const char*>(hit);
    if (r + 1 >= e || r[1] != '\n') ++n;
    p = r + 1;
  }
  return n;
}

// Field text with quotes undone; uses `tmp` only when needed.
inline std::string_view field_text(const Field& f, char quote, std::string& tmp) {
  if (!f.escaped && !f.tb) return {f.b, static_cast<std::size_t>(f.e - f.b)};
  tmp.clear();
  for (const char* p = f.b; p < f.e; ++p) {
    tmp.push_back(*p);
    if (*p == quote && f.escaped && p + 1 < f.e && p[1] == quote) ++p;
  }
  if (f.tb) tmp.append(f.tb, f.te);
  return tmp;
}

inline void trim(const char*& b, const char*& e) {
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
}

inline bool is_na(std::string_view s, const std::vector<std::string>& na) {
  if (s.empty()) return true;
  for (const auto& n : na)
    if (s.size() == n.size() && std::memcmp(s.data(), n.data(), n.size()) == 0) return true;
  return false;
}

// True when every byte of s is < 0x80.
bool is_ascii(const char* s, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < n; ++i)
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  return true;
}

// Windows-1252 code points of bytes 0x80-0x9F (the five bytes it leaves undefined map to the
// C1 control of the same value, as the WHATWG encoding standard does).
static const uint16_t kCp1252High[32] = {0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                                         0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
                                         0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// Appends the UTF-8 form of single-byte text (Latin-1 or Windows-1252) to out.
void to_utf8(const char* s, std::size_t n, Encoding enc, std::string& out) {
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    if (c >= 0x80 && c < 0xA0 && enc == Encoding::Windows1252) cp = kCp1252High[c - 0x80];
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
}

// Returns the offset of the first invalid UTF-8 byte, or NPOS.
std::size_t utf8_invalid(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07;
    } else {
      return i;
    }
    for (std::size_t k = 1; k <= need; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += need + 1;
  }
  return NPOS;
}

// ---- scalar conversions -------------------------------------------------------------------
bool parse_int64(const char* b, const char* e, char thousands, int64_t& out) {
  trim(b, e);
  if (b == e) return false;
  bool neg = false;
  if (*b == '-' || *b == '+') {
    neg = *b == '-';
    ++b;
  }
  if (b == e) return false;
  int64_t v = 0;
  int digits = 0;
  for (; b < e; ++b) {
    char c = *b;
    if (c >= '0' && c <= '9') {
      if (++digits > 18) return false;
      v = v * 10 + (c - '0');
    } else if (thousands && c == thousands && digits > 0) {
      continue;
    } else {
      return false;
    }
  }
  if (digits == 0) return false;
  out = neg ? -v : v;
  return true;
}

bool parse_double(const char* b, const char* e, char decimal, char thousands, double& out) {
  trim(b, e);
  if (b == e) return false;
  char tmp[128];
  if (decimal != '.' || thousands) {
    std::size_t n = 0;
    for (const char* p = b; p < e; ++p) {
      char c = *p;
      if (thousands && c == thousands) continue;
      if (c == decimal) c = '.';
      else if (c == '.') return false;
      if (n >= sizeof(tmp)) return false;
      tmp[n++] = c;
    }
    b = tmp;
    e = tmp + n;
  }
  if (b < e && *b == '+') {
    ++b;
    if (b < e && (*b == '-' || *b == '+')) return false;
  }
  if (b == e) return false;
  auto r = std::from_chars(b, e, out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == e;
}

inline bool eq_ci(std::string_view a, const char* lit) {
  std::size_t n = std::strlen(lit);
  if (a.size() != n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lit[i]) return false;
  }
  return true;
}

bool parse_bool(const char* b, const char* e, uint8_t& out) {
  trim(b, e);
  std::string_view s(b, static_cast<std::size_t>(e - b));
  if (s == "TRUE" || s == "T" || s == "true" || s == "True") {
    out = 1;
    return true;
  }
  if (s == "FALSE" || s == "F" || s == "false" || s == "False") {
    out = 0;
    return true;
  }
  return false;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned mdays(int64_t y, unsigned m) {
  static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

const char* kMonths[] = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"};

struct DT {
  int64_t y = 1970;
  unsigned m = 1, d = 1, H = 0, M = 0;
  double S = 0;
  bool hasDate = false;
};

bool read_num(const char*& p, const char* e, int maxDigits, int64_t& v) {
  int n = 0;
  v = 0;
  while (p < e && n < maxDigits && *p >= '0' && *p <= '9') {
    v = v * 10 + (*p - '0');
    ++p;
    ++n;
  }
  return n > 0;
}

bool parse_fmt(const char* s, std::size_t n, const std::string& fmt, DT& dt) {
  const char* p = s;
  const char* e = s + n;
  trim(p, e);
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    char f = fmt[i];
    if (f == '%' && i + 1 < fmt.size()) {
      char c = fmt[++i];
      if (c == 'O' && i + 1 < fmt.size() && fmt[i + 1] == 'S') c = 's', ++i;
      int64_t v;
      switch (c) {
        case 'Y':
          if (!read_num(p, e, 4, v)) return false;
          dt.y = v;
          dt.hasDate = true;
          break;
        case 'y':
          if (!read_num(p, e, 2, v)) return false;
          dt.y = v < 69 ? 2000 + v : 1900 + v;
          dt.hasDate = true;
          break;
        case 'm':
          if (!read_num(p, e, 2, v) || v < 1 || v > 12) return false;
          dt.m = static_cast<unsigned>(v);
          break;
        case 'd':
        case 'e':
          while (c == 'e' && p < e && *p == ' ') ++p;
          if (!read_num(p, e, 2, v) || v < 1 || v > 31) return false;
          dt.d = static_cast<unsigned>(v);
          break;
        case 'H':
          if (!read_num(p, e, 2, v) || v > 24) return false;
          dt.H = static_cast<unsigned>(v);
          break;
        case 'M':
          if (!read_num(p, e, 2, v) || v > 59) return false;
          dt.M = static_cast<unsigned>(v);
          break;
        case 'S':
        case 's': {
          if (!read_num(p, e, 2, v) || v > 61) return false;
          dt.S = static_cast<double>(v);
          if (c == 's' && p < e && *p == '.') {
            ++p;
            double scale = 0.1;
            if (p >= e || *p < '0' || *p > '9') return false;
            while (p < e && *p >= '0' && *p <= '9') {
              dt.S += (*p - '0') * scale;
              scale /= 10;
              ++p;
            }
          }
          break;
        }
        case 'b':
        case 'B':
        case 'h': {
          int found = -1;
          std::size_t flen = 0;
          for (int k = 0; k < 12 && found < 0; ++k) {
            std::size_t full = std::strlen(kMonths[k]);
            for (std::size_t L : {full, std::size_t(3)}) {
              if (static_cast<std::size_t>(e - p) < L) continue;
              bool ok = true;
              for (std::size_t q = 0; q < L && ok; ++q) {
                char ch = p[q];
                if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
                ok = ch == kMonths[k][q];
              }
              if (ok) {
                found = k;
                flen = L;
                break;
              }
            }
          }
          if (found < 0) return false;
          dt.m = static_cast<unsigned>(found + 1);
          p += flen;
          break;
        }
        case '%':
          if (p >= e || *p != '%') return false;
          ++p;
          break;
        default:
          return false;
      }
    } else if (f == ' ') {
      while (p < e && (*p == ' ' || *p == '\t')) ++p;
    } else {
      if (p >= e || *p != f) return false;
      ++p;
    }
  }
  if (p != e) return false;
  if (dt.d > mdays(dt.y, dt.m)) return false;
  return true;
}

}  // namespace

bool parse_date(const char* s, std::size_t n, const std::string& fmt, int32_t& days) {
  DT dt;
  if (!parse_fmt(s, n, fmt.empty() ? std::string("%Y-%m-%d") : fmt, dt) || !dt.hasDate) return false;
  days = static_cast<int32_t>(days_from_civil(dt.y, dt.m, dt.d));
  return true;
}

bool parse_time(const char* s, std::size_t n, const std::string& fmt, double& ms) {
  DT dt;
  bool ok = false;
  if (!fmt.empty()) {
    ok = parse_fmt(s, n, fmt, dt);
  } else {
    // ISO 8601: date, optional [ T]HH:MM[:SS[.fff]], optional Z.
    std::size_t m = n;
    while (m > 0 && (s[m - 1] == ' ')) --m;
    if (m > 0 && s[m - 1] == 'Z') --m;
    static const std::string fmts[] = {"%Y-%m-%d %H:%M:%OS", "%Y-%m-%dT%H:%M:%OS", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
    for (const auto& f : fmts) {
      dt = DT();
      if (parse_fmt(s, m, f, dt)) {
        ok = true;
        break;
      }
    }
  }
  if (!ok || !dt.hasDate) return false;
  double days = static_cast<double>(days_from_civil(dt.y, dt.m, dt.d));
  ms = ((days * 24 + dt.H) * 60 + dt.M) * 60000.0 + std::round(dt.S * 1000.0);
  return true;
}

// ---- Dict -----------------------------------------------------------------------------------
Dict::Dict() : offs_{0}, table_(64, -1) {}

void Dict::grow() {
  std::vector<int32_t> t(table_.size() * 2, -1);
  std::size_t mask = t.size() - 1;
  for (std::size_t i = 0; i < hashes_.size(); ++i) {
    std::size_t s = hashes_[i] & mask;
    while (t[s] >= 0) s = (s + 1) & mask;
    t[s] = static_cast<int32_t>(i);
  }
  table_.swap(t);
}

int32_t Dict::find(std::string_view s) const {
  uint64_t h = hash_bytes(s.data(), s.size());
  std::size_t mask = table_.size() - 1;
  for (std::size_t slot = h & mask;; slot = (slot + 1) & mask) {
    int32_t c = table_[slot];
    if (c < 0) return -1;
    if (hashes_[c] == h && at(static_cast<std::size_t>(c)) == s) return c;
  }
}

int32_t Dict::intern(std::string_view s) {
  uint64_t h = hash_bytes(s.data(), s.size());
  std::size_t mask = table_.size() - 1;
  std::size_t slot = h & mask;
  for (;; slot = (slot + 1) & mask) {
    int32_t c = table_[slot];
    if (c < 0) break;
    if (hashes_[c] == h && at(static_cast<std::size_t>(c)) == s) return c;
  }
  int32_t code = static_cast<int32_t>(hashes_.size());
  if (hashes_.size() >= static_cast<std::size_t>(std::numeric_limits<int32_t>::max()))
    throw rx::Error("RX_SCHEMA", "too many factor levels (more than 2^31 - 1)");
  arena_.append(s.data(), s.size());
  offs_.push_back(arena_.size());
  hashes_.push_back(h);
  table_[slot] = code;
  if (hashes_.size() * 2 > table_.size()) grow();
  return code;
}

// ---- block parser ---------------------------------------------------------------------------
// Most distinct values per segment for which a string column is also dictionary-encoded.
constexpr std::size_t kMaxStringDict = 4096;

struct LocalCol {
  std::vector<double> f64;
  std::vector<float> f32;
  std::vector<int32_t> i32;
  std::vector<int16_t> i16;
  std::vector<uint8_t> u8;
  std::vector<uint8_t> valid;
  std::vector<char> sbytes;
  std::vector<int32_t> sstart;
  Dict dict;
  bool nonAscii = false;                 // a string value with a byte >= 0x80
  std::vector<uint32_t> conflictRows;    // segment-local rows whose value did not fit
  std::size_t conflictPos = NPOS;        // row start offset of the first conflict
  std::string conflictText;
  std::vector<uint32_t> badUtf8Rows;     // segment-local rows with invalid UTF-8
  std::size_t badUtf8Pos = NPOS;
  std::string badUtf8Text;
  std::vector<int32_t> remap;            // factor: local code -> global code (-1 unset)
  bool sdictOff = false;                 // strings: too many distinct values to dictionary-encode

  // Empties the buffers but keeps their capacity (reused block after block).
  void reset() {
    f64.clear(), f32.clear(), i32.clear(), i16.clear(), u8.clear(), valid.clear(), sbytes.clear(), sstart.clear();
    dict = Dict();
    nonAscii = false;
    sdictOff = false;
    conflictRows.clear(), badUtf8Rows.clear();
    conflictPos = badUtf8Pos = NPOS;
    conflictText.clear(), badUtf8Text.clear();
  }
};

struct Segment {
  std::size_t begin = 0, end = 0;  // [begin, end) rows to parse
  std::size_t stop = 0;            // where parsing actually ended
  std::size_t rows = 0;
  bool overrun = false;  // a row crossed `end` or hit the buffer end early
  bool capped = false;   // stopped after maxRows rows
  std::vector<LocalCol> cols;
  std::vector<std::size_t> rowEnd;  // offset just after each row
  ParseError err;
  std::size_t errPos = NPOS;
};

namespace {

std::string snippet(const char* b, const char* e, std::size_t max = 200) {
  std::size_t n = static_cast<std::size_t>(e - b);
  std::string s(b, std::min(n, max));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (n > max) s += "...";
  return s;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::F64: return "numeric";
    case Kind::F32: return "float32";
    case Kind::I32: return "integer";
    case Kind::I16: return "int16";
    case Kind::U8: return "uint8";
    case Kind::Bool: return "logical";
    case Kind::Factor: return "factor";
    case Kind::String: return "character";
    case Kind::Date: return "Date";
    case Kind::Timestamp: return "POSIXct";
    default: return "skip";
  }
}

}  // namespace

Parser::~Parser() = default;

Parser::Parser(Options opt, std::vector<ColumnSpec> specs) : opt_(std::move(opt)), specs_(std::move(specs)), dicts_(specs_.size()) {
  for (std::size_t j = 0; j < specs_.size(); ++j) {
    auto& s = specs_[j];
    if (s.kind == Kind::Factor && s.frozen) {
      for (const auto& l : s.levels) dicts_[j].intern(l);
    }
  }
}

namespace {

// Converts one row's fields into the segment's column buffers. Returns false (with err set)
// on a hard error.
struct RowSink {
  const Options& opt;
  const std::vector<ColumnSpec>& specs;
  const std::vector<Dict>& global;
  std::string tmp;
  std::string fixed;

  void conflict(LocalCol& c, std::size_t rowPos, std::string_view text) {
    c.conflictRows.push_back(static_cast<uint32_t>(c.valid.size()));
    if (c.conflictRows.size() == 1) {
      c.conflictPos = rowPos;
      c.conflictText.assign(text.data(), std::min<std::size_t>(text.size(), 200));
    }
  }

  // Returns an error message (empty on success); `errCol` set to the field index.
  bool row(const std::vector<Field>& fields, std::vector<LocalCol>& cols, std::size_t rowPos, ParseError& err) {
    const std::size_t nc = specs.size();
    for (std::size_t j = 0; j < nc; ++j) {
      const ColumnSpec& sp = specs[j];
      if (sp.kind == Kind::Skip) continue;
      const Field& f = fields[j];
      LocalCol& c = cols[j];
      if (f.tb && opt.strict) {
        err.code = "RX_PARSE";
        err.message = "unexpected text after a closing quote";
        err.column = static_cast<int>(j);
        err.text = snippet(f.b - 1, f.te);
        return false;
      }
      std::string_view s = field_text(f, opt.quote, tmp);
      bool na = is_na(s, opt.na);
      const char* b = s.data();
      const char* e = b + s.size();
      bool ok = true;
      switch (sp.kind) {
        case Kind::F64:
        case Kind::F32: {
          double v = std::numeric_limits<double>::quiet_NaN();
          if (!na) {
            ok = parse_double(b, e, opt.decimal, opt.thousands, v);
            if (!ok) v = std::numeric_limits<double>::quiet_NaN();
          }
          if (sp.kind == Kind::F64) c.f64.push_back(v);
          else c.f32.push_back(static_cast<float>(v));
          break;
        }
        case Kind::I32:
        case Kind::I16:
        case Kind::U8: {
          int64_t v = 0;
          if (!na) {
            ok = parse_int64(b, e, opt.thousands, v);
            if (ok) {
              int64_t lo = sp.kind == Kind::I32 ? std::numeric_limits<int32_t>::min() : sp.kind == Kind::I16 ? -32768 : 0;
              int64_t hi = sp.kind == Kind::I32 ? std::numeric_limits<int32_t>::max() : sp.kind == Kind::I16 ? 32767 : 255;
              if (v < lo || v > hi) ok = false;
            }
            if (!ok) v = 0;
          }
          if (sp.kind == Kind::I32) c.i32.push_back(static_cast<int32_t>(v));
          else if (sp.kind == Kind::I16) c.i16.push_back(static_cast<int16_t>(v));
          else c.u8.push_back(static_cast<uint8_t>(v));
          break;
        }
        case Kind::Bool: {
          uint8_t v = 0;
          if (!na) {
            ok = parse_bool(b, e, v);
            if (!ok) v = 0;
          }
          c.u8.push_back(v);
          break;
        }
        case Kind::Date: {
          int32_t v = 0;
          if (!na) {
            ok = parse_date(b, s.size(), opt.dateFormat, v);
            if (!ok) v = 0;
          }
          c.i32.push_back(v);
          break;
        }
        case Kind::Timestamp: {
          double v = std::numeric_limits<double>::quiet_NaN();
          if (!na) {
            ok = parse_time(b, s.size(), opt.timeFormat, v);
            if (!ok) v = std::numeric_limits<double>::quiet_NaN();
          }
          c.f64.push_back(v);
          break;
        }
        case Kind::Factor:
        case Kind::String: {
          if (!na && opt.encoding != Encoding::Utf8) {
            if (!is_ascii(b, s.size())) {
              fixed.clear();
              to_utf8(b, s.size(), opt.encoding, fixed);
              s = fixed;
              b = s.data();
              e = b + s.size();
            }
          } else if (!na) {
            std::size_t bad = utf8_invalid(reinterpret_cast<const unsigned char*>(b), s.size());
            if (bad != NPOS) {
              if (!opt.replaceBadUtf8) {
                err.code = "RX_PARSE";
                err.message = "invalid UTF-8 (byte 0x" + std::string(1, "0123456789abcdef"[(static_cast<unsigned char>(b[bad]) >> 4)]) +
                              std::string(1, "0123456789abcdef"[static_cast<unsigned char>(b[bad]) & 15]) + " at offset " +
                              std::to_string(bad) +
                              " of the field; if the file is not UTF-8 set encoding: 'latin1' or 'windows-1252', or encodingErrors: 'replace')";
                err.column = static_cast<int>(j);
                err.text = std::string(b, std::min<std::size_t>(s.size(), 200));
                return false;
              }
              c.badUtf8Rows.push_back(static_cast<uint32_t>(c.valid.size()));
              if (c.badUtf8Rows.size() == 1) {
                c.badUtf8Pos = rowPos;
                c.badUtf8Text.assign(b, std::min<std::size_t>(s.size(), 200));
              }
              // replace each invalid byte with U+FFFD
              fixed.clear();
              std::size_t at = 0;
              while (at < s.size()) {
                std::size_t k = utf8_invalid(reinterpret_cast<const unsigned char*>(b) + at, s.size() - at);
                if (k == NPOS) {
                  fixed.append(b + at, s.size() - at);
                  break;
                }
                fixed.append(b + at, k);
                fixed.append("\xEF\xBF\xBD");
                at += k + 1;
              }
              s = fixed;
              b = s.data();
              e = b + s.size();
            }
          }
          if (sp.kind == Kind::String) {
            c.sstart.push_back(static_cast<int32_t>(c.sbytes.size()));
            if (!na) {
              if (!c.nonAscii) {
                for (const char* q = b; q < e; ++q)
                  if (static_cast<unsigned char>(*q) >= 0x80) {
                    c.nonAscii = true;
                    break;
                  }
              }
              c.sbytes.insert(c.sbytes.end(), b, e);
            }
            // dictionary codes while the column repeats few values (JS then makes one
            // string per distinct value instead of one per row)
            if (!c.sdictOff) {
              c.i32.push_back(na ? -1 : c.dict.intern(s));
              if (c.dict.size() > kMaxStringDict) c.sdictOff = true;
            }
          } else {
            int32_t code = 0;
            if (!na) {
              if (sp.frozen) {
                code = global[j].find(s);
                if (code < 0) {
                  ok = false;
                  code = 0;
                }
              } else {
                code = c.dict.intern(s);
              }
            }
            c.i32.push_back(code);
          }
          break;
        }
        default:
          break;
      }
      if (!ok) {
        if (opt.strict) {
          err.code = "RX_PARSE";
          err.message = sp.kind == Kind::Factor ? "value is not one of the declared factor levels"
                                                : std::string("cannot convert the value to ") + kind_name(sp.kind);
          err.column = static_cast<int>(j);
          err.text = std::string(s.substr(0, 200));
          return false;
        }
        conflict(c, rowPos, s);
      }
      c.valid.push_back(na || !ok ? 0 : 1);
    }
    return true;
  }
};

void init_locals(Segment& seg, const std::vector<ColumnSpec>& specs, std::size_t rowsHint) {
  seg.cols.resize(specs.size());
  seg.rowEnd.clear();
  seg.rowEnd.reserve(rowsHint);
  seg.rows = 0;
  seg.stop = seg.begin;
  seg.overrun = seg.capped = false;
  seg.err = ParseError();
  seg.errPos = NPOS;
  for (std::size_t j = 0; j < specs.size(); ++j) {
    LocalCol& c = seg.cols[j];
    c.reset();
    if (specs[j].kind == Kind::Skip) continue;
    c.valid.reserve(rowsHint);
    switch (specs[j].kind) {
      case Kind::F64:
      case Kind::Timestamp: c.f64.reserve(rowsHint); break;
      case Kind::F32: c.f32.reserve(rowsHint); break;
      case Kind::I32:
      case Kind::Date:
      case Kind::Factor: c.i32.reserve(rowsHint); break;
      case Kind::I16: c.i16.reserve(rowsHint); break;
      case Kind::U8:
      case Kind::Bool: c.u8.reserve(rowsHint); break;
      case Kind::String:
        c.sstart.reserve(rowsHint);
        c.i32.reserve(rowsHint);
        break;
      default: break;
    }
  }
}

// Parses rows in [seg.begin, seg.end), at most maxRows. Serial mode (`serial`) stops at an
// incomplete row.
void parse_segment(const char* buf, std::size_t len, bool final, bool serial, std::size_t maxRows, const Options& opt,
                   const std::vector<ColumnSpec>& specs, const std::vector<Dict>& global, Segment& seg) {
  init_locals(seg, specs, std::min<std::size_t>(maxRows, (seg.end - seg.begin) / 32 + 16));
  RowSink sink{opt, specs, global, {}, {}};
  std::vector<Field> fields;
  fields.reserve(specs.size() + 4);
  std::size_t p = seg.begin;
  const std::size_t nc = specs.size();
  while (p < seg.end) {
    if (seg.rows >= maxRows) {
      seg.capped = true;
      break;
    }
    std::size_t next = 0, bad = 0;
    RowStatus st = tokenize(buf, len, p, final, opt.delim, opt.quote, fields, next, bad);
    if (st == kIncomplete) {
      if (!serial) seg.overrun = true;
      break;
    }
    if (st == kUnterminated) {
      if (!serial && !final) {
        seg.overrun = true;
        break;
      }
      seg.err.code = "RX_PARSE";
      seg.err.message = "unterminated quoted field (the closing quote is missing)";
      seg.err.text = snippet(buf + bad, buf + len, 80);
      seg.errPos = bad;
      break;
    }
    if (!serial && next > seg.end) {
      seg.overrun = true;
      break;
    }
    if (!is_blank_row(fields)) {
      if (fields.size() != nc) {
        seg.err.code = "RX_PARSE";
        seg.err.message = "row has " + std::to_string(fields.size()) + " fields but the header/first row has " + std::to_string(nc);
        seg.err.text = snippet(buf + p, buf + next);
        seg.errPos = p;
        break;
      }
      if (!sink.row(fields, seg.cols, p, seg.err)) {
        seg.errPos = p;
        break;
      }
      ++seg.rows;
      seg.rowEnd.push_back(next);
    }
    p = next;
  }
  seg.stop = p;
}

template <typename T>
void put(const std::vector<T>& v, std::size_t n, void* out, std::size_t at) {
  if (n) std::memcpy(static_cast<T*>(out) + at, v.data(), n * sizeof(T));
}

}  // namespace

BlockResult Parser::parse(const char* buf, std::size_t len, bool final, int64_t firstLine, std::size_t maxRows,
                          const std::vector<OutColumn>* out, std::size_t offset) {
  BlockResult res;
  const std::size_t nc = specs_.size();
  if (out && out->size() != nc) throw rx::Error("RX_INTERNAL", "csv parse: output column count differs from the parser's");
  maxRows = std::max<std::size_t>(1, maxRows);
  std::size_t nthreads = static_cast<std::size_t>(std::max(1, rx::num_threads()));
  std::size_t minb = std::max<std::size_t>(1, opt_.minBytesPerThread);
  nthreads = std::min(nthreads, std::max<std::size_t>(1, len / minb));
  std::size_t nsegs = 0;
  bool serial = nthreads <= 1;
  if (!serial) {
    // pass 1: quote parity and first/last newline at each parity per range
    struct R {
      std::size_t a, b;
      unsigned parity = 0;
      std::size_t first[2] = {NPOS, NPOS}, last[2] = {NPOS, NPOS};
    };
    std::vector<R> ranges(nthreads);
    for (std::size_t r = 0; r < nthreads; ++r) {
      ranges[r].a = len * r / nthreads;
      ranges[r].b = len * (r + 1) / nthreads;
    }
    const char q = opt_.quote;
    rx::parallel_for(nthreads, [&](std::size_t b0, std::size_t e0, int) {
      for (std::size_t r = b0; r < e0; ++r) {
        R& x = ranges[r];
        unsigned par = 0;
        const char* p = buf + x.a;
        const char* e = buf + x.b;
        if (!q) {
          // no quoting: only the first and last newline matter
          const void* f = std::memchr(p, '\n', static_cast<std::size_t>(e - p));
          if (f) {
            x.first[0] = static_cast<std::size_t>(static_cast<const char*>(f) - buf);
            const void* l = memrchr(p, '\n', static_cast<std::size_t>(e - p));
            x.last[0] = static_cast<std::size_t>(static_cast<const char*>(l) - buf);
          }
        } else {
          for (; p < e; ++p) {
            char c = *p;
            if (c == '\n') {
              std::size_t i = static_cast<std::size_t>(p - buf);
              if (x.first[par] == NPOS) x.first[par] = i;
              x.last[par] = i;
            } else if (c == q) {
              par ^= 1;
            }
          }
        }
        x.parity = par;
      }
    });
    std::vector<unsigned> state(nthreads);
    unsigned s = 0;
    for (std::size_t r = 0; r < nthreads; ++r) {
      state[r] = s;
      s ^= ranges[r].parity;
    }
    std::size_t end = len;
    if (!final) {
      end = 0;
      for (std::size_t r = nthreads; r-- > 0;) {
        std::size_t ln = ranges[r].last[state[r]];
        if (ln != NPOS) {
          end = ln + 1;
          break;
        }
      }
    }
    std::vector<std::size_t> starts{0};
    for (std::size_t r = 1; r < nthreads; ++r) {
      std::size_t fn = ranges[r].first[state[r]];
      if (fn != NPOS && fn + 1 < end && fn + 1 > starts.back()) starts.push_back(fn + 1);
    }
    if (end == 0) {
      // no complete row by parity: let the serial path decide (it may still be complete)
      serial = true;
    } else {
      nsegs = starts.size();
      if (segs_.size() < nsegs) segs_.resize(nsegs);
      for (std::size_t k = 0; k < nsegs; ++k) {
        segs_[k].begin = starts[k];
        segs_[k].end = k + 1 < nsegs ? starts[k + 1] : end;
      }
      rx::parallel_for(nsegs, [&](std::size_t b0, std::size_t e0, int) {
        for (std::size_t k = b0; k < e0; ++k) parse_segment(buf, len, final, false, maxRows, opt_, specs_, dicts_, segs_[k]);
      });
      bool okTiling = true;
      std::size_t rowsSoFar = 0;
      for (std::size_t k = 0; k < nsegs; ++k) {
        const Segment& sg = segs_[k];
        rowsSoFar += sg.rows;
        if (!sg.err.code.empty() || sg.capped || rowsSoFar >= maxRows) {
          nsegs = k + 1;  // later segments are not needed (first error in file order wins)
          break;
        }
        if (sg.overrun || sg.stop != sg.end) {
          okTiling = false;
          break;
        }
      }
      if (!okTiling) {
        serial = true;
        res.serialFallback = true;
      }
    }
  }
  if (serial) {
    nsegs = 1;
    if (segs_.empty()) segs_.resize(1);
    segs_[0].begin = 0;
    segs_[0].end = len;
    parse_segment(buf, len, final, true, maxRows, opt_, specs_, dicts_, segs_[0]);
  }

  auto lineAt = [&](std::size_t pos) { return firstLine + static_cast<int64_t>(count_lines(buf, buf + std::min(pos, len))); };
  // rows kept per segment (at most maxRows in all); an error counts only before the cap
  std::vector<std::size_t> keep(nsegs, 0);
  std::size_t rows = 0;
  std::size_t consumed = 0;
  for (std::size_t k = 0; k < nsegs; ++k) {
    Segment& sg = segs_[k];
    std::size_t take = std::min(sg.rows, maxRows - rows);
    keep[k] = take;
    rows += take;
    if (take < sg.rows || (rows == maxRows && (sg.capped || take > 0))) {
      consumed = take ? sg.rowEnd[take - 1] : sg.begin;
      nsegs = k + 1;
      break;
    }
    if (!sg.err.code.empty()) {
      res.error = sg.err;
      res.error.line = lineAt(sg.errPos);
      return res;
    }
    consumed = sg.stop;
    if (rows == maxRows) {
      nsegs = k + 1;
      break;
    }
  }
  res.consumed = consumed;
  res.newlines = count_lines(buf, buf + consumed);
  res.rows = rows;
  res.cols.resize(nc);
  for (std::size_t j = 0; j < nc; ++j) {
    ColumnOut& o = res.cols[j];
    const ColumnSpec& sp = specs_[j];
    o.kind = sp.kind;
    if (sp.kind == Kind::Skip) continue;
    void* data = out ? (*out)[j].data : nullptr;
    uint8_t* valid = out ? (*out)[j].valid : nullptr;
    std::size_t at = offset;
    Dict& g = dicts_[j];
    std::size_t levelsBefore = g.size();
    bool sdict = sp.kind == Kind::String;
    for (std::size_t k = 0; k < nsegs && sdict; ++k)
      if (keep[k] && segs_[k].cols[j].sdictOff) sdict = false;
    if (sdict) {
      // dictionary-encoded strings: distinct values (in order of first appearance) + codes
      Dict cd;
      o.codes.resize(rows);
      std::size_t r = 0;
      for (std::size_t k = 0; k < nsegs; ++k) {
        LocalCol& c = segs_[k].cols[j];
        const std::size_t n = keep[k];
        c.remap.assign(c.dict.size(), -1);
        for (std::size_t i = 0; i < n; ++i) {
          int32_t lc = c.i32[i];
          int32_t code = -1;
          if (lc >= 0) {
            int32_t& m = c.remap[static_cast<std::size_t>(lc)];
            if (m < 0) m = cd.intern(c.dict.at(static_cast<std::size_t>(lc)));
            code = m;
          }
          o.codes[r + i] = code;
        }
        if (c.nonAscii) o.ascii = false;
        r += n;
      }
      o.offsets.resize(cd.size() + 1);
      o.offsets[0] = 0;
      for (std::size_t u = 0; u < cd.size(); ++u) {
        std::string_view v = cd.at(u);
        o.bytes.insert(o.bytes.end(), v.begin(), v.end());
        o.offsets[u + 1] = static_cast<int32_t>(o.bytes.size());
      }
      o.dict = true;
    } else if (sp.kind == Kind::String) {
      std::size_t total = 0;
      for (std::size_t k = 0; k < nsegs; ++k) {
        LocalCol& c = segs_[k].cols[j];
        total += keep[k] < c.sstart.size() ? static_cast<std::size_t>(c.sstart[keep[k]]) : c.sbytes.size();
      }
      if (total > static_cast<std::size_t>(std::numeric_limits<int32_t>::max()))
        throw rx::Error("RX_INTERNAL", "string column block exceeds 2 GiB; use a smaller block size");
      o.bytes.resize(total);
      o.offsets.resize(rows + 1);
    }
    std::size_t soff = 0, r = 0;
    for (std::size_t k = 0; k < nsegs; ++k) {
      LocalCol& c = segs_[k].cols[j];
      const std::size_t n = keep[k];
      for (uint32_t cr : c.conflictRows) {
        if (cr >= n) break;
        if (o.conflicts++ == 0) {
          o.conflictLine = lineAt(c.conflictPos);
          o.conflictText = c.conflictText;
        }
      }
      for (uint32_t br : c.badUtf8Rows) {
        if (br >= n) break;
        if (o.badUtf8++ == 0) {
          o.badUtf8Line = lineAt(c.badUtf8Pos);
          o.badUtf8Text = c.badUtf8Text;
        }
      }
      if (!o.anyMissing && std::memchr(c.valid.data(), 0, n)) o.anyMissing = true;
      if (valid && n) std::memcpy(valid + at, c.valid.data(), n);
      switch (sp.kind) {
        case Kind::F64:
        case Kind::Timestamp:
          if (data) put(c.f64, n, data, at);
          break;
        case Kind::F32:
          if (data) put(c.f32, n, data, at);
          break;
        case Kind::I32:
        case Kind::Date:
          if (data) put(c.i32, n, data, at);
          break;
        case Kind::I16:
          if (data) put(c.i16, n, data, at);
          break;
        case Kind::U8:
        case Kind::Bool:
          if (data) put(c.u8, n, data, at);
          break;
        case Kind::Factor: {
          int32_t* dst = data ? static_cast<int32_t*>(data) + at : nullptr;
          if (sp.frozen) {
            if (dst) put(c.i32, n, data, at);
            break;
          }
          // local codes -> global codes, interning levels in order of first appearance
          c.remap.assign(c.dict.size(), -1);
          for (std::size_t i = 0; i < n; ++i) {
            int32_t code = 0;
            if (c.valid[i]) {
              int32_t lc = c.i32[i];
              int32_t& m = c.remap[static_cast<std::size_t>(lc)];
              if (m < 0) m = g.intern(c.dict.at(static_cast<std::size_t>(lc)));
              code = m;
            }
            if (dst) dst[i] = code;
          }
          break;
        }
        case Kind::String: {
          if (sdict) break;
          std::size_t nb = n < c.sstart.size() ? static_cast<std::size_t>(c.sstart[n]) : c.sbytes.size();
          if (nb) std::memcpy(o.bytes.data() + soff, c.sbytes.data(), nb);
          for (std::size_t i = 0; i < n; ++i) o.offsets[r + i] = static_cast<int32_t>(soff) + c.sstart[i];
          soff += nb;
          if (c.nonAscii) o.ascii = false;
          break;
        }
        default:
          break;
      }
      at += n;
      r += n;
    }
    if (sp.kind == Kind::String && !sdict) o.offsets[rows] = static_cast<int32_t>(soff);
    for (std::size_t k = levelsBefore; k < g.size(); ++k) o.newLevels.emplace_back(g.at(k));
  }
  return res;
}

// ---- sniffing -------------------------------------------------------------------------------
namespace {

uint32_t value_bits(std::string_view s, const Options& opt) {
  uint32_t bits = 0;
  const char* b = s.data();
  const char* e = b + s.size();
  uint8_t bv;
  if (parse_bool(b, e, bv)) bits |= kBool;
  int64_t iv;
  if (parse_int64(b, e, opt.thousands, iv) && iv >= std::numeric_limits<int32_t>::min() && iv <= std::numeric_limits<int32_t>::max())
    bits |= kInt | kFloat;
  else {
    double dv;
    if (parse_double(b, e, opt.decimal, opt.thousands, dv)) bits |= kFloat;
  }
  if (!opt.dateFormat.empty()) {
    int32_t d;
    if (parse_date(b, s.size(), opt.dateFormat, d)) bits |= kDate;
  }
  if (!opt.timeFormat.empty()) {
    double t;
    if (parse_time(b, s.size(), opt.timeFormat, t)) bits |= kTime;
  }
  return bits;
}

}  // namespace

char detect_delimiter(const char* buf, std::size_t len, char quote) {
  const char cands[] = {',', '\t', ';', '|'};
  char best = ',';
  double bestScore = -1;
  std::vector<Field> fields;
  for (char d : cands) {
    std::vector<std::size_t> counts;
    std::size_t p = 0;
    while (p < len && counts.size() < 100) {
      std::size_t next = 0, bad = 0;
      RowStatus st = tokenize(buf, len, p, false, d, quote, fields, next, bad);
      if (st != kRow) {
        if (counts.empty()) {
          // a single (possibly unterminated) line: count it anyway
          st = tokenize(buf, len, p, true, d, quote, fields, next, bad);
          if (st == kRow && !is_blank_row(fields)) counts.push_back(fields.size());
        }
        break;
      }
      if (!is_blank_row(fields)) counts.push_back(fields.size());
      p = next;
    }
    if (counts.empty()) continue;
    // modal field count and how many lines agree
    std::vector<std::size_t> sorted = counts;
    std::sort(sorted.begin(), sorted.end());
    std::size_t mode = sorted[0], modeN = 0;
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t k = i;
      while (k < sorted.size() && sorted[k] == sorted[i]) ++k;
      if (k - i > modeN || (k - i == modeN && sorted[i] > mode)) {
        mode = sorted[i];
        modeN = k - i;
      }
      i = k;
    }
    if (mode <= 1) continue;
    double agree = static_cast<double>(modeN) / static_cast<double>(counts.size());
    double score = agree * 1000 + static_cast<double>(mode);
    if (score > bestScore) {
      bestScore = score;
      best = d;
    }
  }
  return best;
}

SniffResult sniff(const char* buf, std::size_t len, bool final, const Options& opt, std::size_t maxRows) {
  SniffResult res;
  res.delim = opt.delim;
  std::vector<Field> fields;
  std::string tmp;
  std::size_t p = 0;
  int64_t line = 1;
  while (p < len && res.rows < maxRows) {
    std::size_t next = 0, bad = 0;
    RowStatus st = tokenize(buf, len, p, final, opt.delim, opt.quote, fields, next, bad);
    if (st == kIncomplete) break;
    if (st == kUnterminated) {
      res.error.code = "RX_PARSE";
      res.error.message = "unterminated quoted field (the closing quote is missing)";
      res.error.line = line + static_cast<int64_t>(count_lines(buf + p, buf + bad));
      res.error.text = snippet(buf + bad, buf + len, 80);
      return res;
    }
    int64_t rowLines = static_cast<int64_t>(count_lines(buf + p, buf + next));
    if (is_blank_row(fields)) {
      p = next;
      line += rowLines;
      if (res.rows == 0) res.firstRowEnd = next, res.firstRowNewlines += static_cast<std::size_t>(rowLines);
      continue;
    }
    if (res.rows == 0) {
      for (const auto& f : fields) {
        std::string_view s = field_text(f, opt.quote, tmp);
        std::string transcoded;
        if (opt.encoding != Encoding::Utf8 && !is_ascii(s.data(), s.size())) {
          to_utf8(s.data(), s.size(), opt.encoding, transcoded);
          s = transcoded;
        } else if (utf8_invalid(reinterpret_cast<const unsigned char*>(s.data()), s.size()) != NPOS) {
          res.error.code = "RX_PARSE";
          res.error.message = "invalid UTF-8 in the first row";
          res.error.line = line;
          res.error.text = snippet(buf + p, buf + next);
          return res;
        }
        res.firstRow.emplace_back(s);
        res.firstRowBits.push_back(is_na(s, opt.na) ? kMissing : value_bits(s, opt));
      }
      res.cols.assign(fields.size(), SniffColumn());
      res.firstRowEnd = next;
      res.firstRowNewlines += static_cast<std::size_t>(rowLines);
    } else {
      if (fields.size() != res.cols.size()) {
        res.error.code = "RX_PARSE";
        res.error.message = "row has " + std::to_string(fields.size()) + " fields but the first row has " + std::to_string(res.cols.size());
        res.error.line = line;
        res.error.text = snippet(buf + p, buf + next);
        return res;
      }
      for (std::size_t j = 0; j < fields.size(); ++j) {
        std::string_view s = field_text(fields[j], opt.quote, tmp);
        if (is_na(s, opt.na)) continue;
        res.cols[j].bits &= value_bits(s, opt);
        res.cols[j].nonMissing++;
      }
    }
    res.rows++;
    line += rowLines;
    p = next;
  }
  return res;
}

std::size_t sniff_more(const char* buf, std::size_t len, const Options& opt, std::size_t maxRows, std::vector<SniffColumn>& cols) {
  std::vector<Field> fields;
  std::string tmp;
  std::size_t p = 0, used = 0, tried = 0;
  while (p < len && tried < maxRows) {
    std::size_t next = 0, bad = 0;
    RowStatus st = tokenize(buf, len, p, false, opt.delim, opt.quote, fields, next, bad);
    if (st != kRow) break;
    ++tried;
    p = next;
    if (fields.size() != cols.size()) continue;
    for (std::size_t j = 0; j < fields.size(); ++j) {
      std::string_view s = field_text(fields[j], opt.quote, tmp);
      if (is_na(s, opt.na)) continue;
      cols[j].bits &= value_bits(s, opt);
      cols[j].nonMissing++;
    }
    ++used;
  }
  return used;
}

}  // namespace rx::csv
