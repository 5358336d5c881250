// Native CSV parsing: delimiter/header/type sniffing and a multi-threaded block parser.
// Plain C++17, no Node headers. The binding (native/binding/csv.cpp) feeds blocks of
// bytes (already decompressed) and receives typed column buffers.
//
// Block model: the caller hands a block that always starts at a row boundary. With
// `final == false` the parser consumes only complete rows and reports `consumed`; the
// caller carries the rest into the next block. Parsing is split across threads by byte
// ranges: pass 1 counts quotes per range and records the first/last newline at each
// quote parity, a serial prefix over the parities picks real row boundaries, pass 2
// parses each segment into thread-local buffers, and the segments are checked to tile
// the block exactly (a stray quote inside an unquoted field breaks parity; then the
// block is re-parsed serially). Outputs are merged in thread order, so results and
// factor level order never depend on the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rx::csv {

enum class Kind : uint8_t { Skip = 0, F64, F32, I32, I16, U8, Bool, Factor, String, Date, Timestamp };

// Text encoding of the input. Single-byte encodings are transcoded to UTF-8 field by field
// (delimiters, quotes and digits are ASCII in all of them, so parsing itself is byte-based).
enum class Encoding : uint8_t { Utf8 = 0, Latin1, Windows1252 };

struct Options {
  char delim = ',';
  char quote = '"';  // 0: no quoting
  char decimal = '.';
  char thousands = 0;  // 0: none
  std::vector<std::string> na{"NA"};
  std::string dateFormat;  // Date columns; empty: %Y-%m-%d
  std::string timeFormat;  // POSIXct columns; empty: ISO 8601 (date, optional time, optional Z)
  bool strict = false;
  Encoding encoding = Encoding::Utf8;
  bool replaceBadUtf8 = false;  // invalid UTF-8 in values: replace by U+FFFD and count (else an error)
  std::size_t minBytesPerThread = 1 << 20;
};

// Growable string -> code dictionary (open addressing over an arena).
class Dict {
 public:
  Dict();
  // Returns the code of s, inserting it when absent.
  int32_t intern(std::string_view s);
  // Returns the code of s, or -1.
  int32_t find(std::string_view s) const;
  std::size_t size() const { return offs_.size() - 1; }
  std::string_view at(std::size_t i) const { return {arena_.data() + offs_[i], offs_[i + 1] - offs_[i]}; }

 private:
  void grow();
  std::string arena_;
  std::vector<std::size_t> offs_;
  std::vector<int32_t> table_;
  std::vector<uint64_t> hashes_;
};

struct ColumnSpec {
  Kind kind = Kind::Skip;
  std::vector<std::string> levels;  // declared levels (factor): frozen, outsiders become NA
  bool frozen = false;
};

// Caller-owned destination of one column: rows are written at [offset, offset + rows).
struct OutColumn {
  void* data = nullptr;      // elemSize bytes per row (numeric, factor codes, dates); null: none
  uint8_t* valid = nullptr;  // one byte per row (1 present, 0 missing); null: none
};

struct ColumnOut {
  Kind kind = Kind::Skip;
  bool anyMissing = false;
  std::vector<char> bytes;       // strings: concatenated UTF-8 of the rows
  std::vector<int32_t> offsets;  // strings: rows + 1
  bool ascii = true;             // strings: every byte < 0x80
  bool dict = false;             // strings: bytes/offsets hold the distinct values, codes the rows
  std::vector<int32_t> codes;    // strings with dict: value index per row (-1 missing)
  std::vector<std::string> newLevels;  // factor levels added by this call
  int64_t conflicts = 0;               // values that did not fit the column type / levels
  int64_t conflictLine = 0;            // 1-based line of the first one
  std::string conflictText;
  int64_t badUtf8 = 0;  // string/factor values with invalid UTF-8 (bytes replaced by U+FFFD)
  int64_t badUtf8Line = 0;
  std::string badUtf8Text;
};

struct ParseError {
  std::string code;  // empty: none
  std::string message;
  int64_t line = 0;
  int column = -1;  // 0-based field index, -1 unknown
  std::string text;
};

struct BlockResult {
  std::size_t consumed = 0;
  std::size_t rows = 0;
  std::size_t newlines = 0;  // '\n' bytes in the consumed part
  bool serialFallback = false;
  std::vector<ColumnOut> cols;  // one per field (Skip fields have kind Skip, no data)
  ParseError error;
};

struct Segment;  // per-thread parse state (csv.cpp)

class Parser {
 public:
  Parser(Options opt, std::vector<ColumnSpec> specs);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  // Parses complete rows of buf[0, len), at most maxRows of them; `firstLine` is the 1-based
  // line number of buf[0]. Row values go straight into `out` (one entry per field) at
  // `offset`; with out == nullptr they are discarded (rows still counted, levels still
  // learnt). Per-thread buffers are kept between calls, so steady-state parsing allocates
  // nothing. An error after the first maxRows rows is not reported (the caller stops first).
  BlockResult parse(const char* buf, std::size_t len, bool final, int64_t firstLine, std::size_t maxRows,
                    const std::vector<OutColumn>* out, std::size_t offset);
  const Options& options() const { return opt_; }
  std::size_t ncols() const { return specs_.size(); }
  Kind kind(std::size_t j) const { return specs_[j].kind; }

 private:
  Options opt_;
  std::vector<ColumnSpec> specs_;
  std::vector<Dict> dicts_;  // per column (factor)
  std::vector<Segment> segs_;  // per-thread parse state, reused across calls
};

// ---- sniffing ---------------------------------------------------------------------------

// Type classes inferred per column: bit set of what every non-missing value could be.
enum TypeBits : uint32_t { kBool = 1, kInt = 2, kFloat = 4, kDate = 8, kTime = 16, kMissing = 1u << 31 };

struct SniffColumn {
  uint32_t bits = kBool | kInt | kFloat | kDate | kTime;  // meet over non-missing values
  int64_t nonMissing = 0;
};

struct SniffResult {
  char delim = ',';
  std::vector<std::string> firstRow;       // fields of the first row (unescaped)
  std::vector<uint32_t> firstRowBits;      // type bits of each first-row field (kMissing when missing)
  std::vector<SniffColumn> cols;           // over rows 2..n
  std::size_t rows = 0;                    // rows tokenized (including the first)
  std::size_t firstRowEnd = 0;             // byte offset just after the first row
  std::size_t firstRowNewlines = 0;        // '\n' inside the first row (including its end)
  ParseError error;
};

// Chooses among , \t ; | by field-count consistency over the first lines.
char detect_delimiter(const char* buf, std::size_t len, char quote);

// Tokenizes up to maxRows rows of buf (which starts at a row boundary). With final=false a
// trailing incomplete row is ignored. Ragged rows give error RX_PARSE (line relative to 1).
SniffResult sniff(const char* buf, std::size_t len, bool final, const Options& opt, std::size_t maxRows);

// Updates `cols` with rows from buf (a jump sample that starts at a row boundary guess); rows
// whose field count differs are ignored. Returns rows used.
std::size_t sniff_more(const char* buf, std::size_t len, const Options& opt, std::size_t maxRows,
                       std::vector<SniffColumn>& cols);

// Date/time helpers (exposed for tests through the binding).
bool parse_date(const char* s, std::size_t n, const std::string& fmt, int32_t& days);
bool parse_time(const char* s, std::size_t n, const std::string& fmt, double& ms);

}  // namespace rx::csv
