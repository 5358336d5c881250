// Histogram tree engine (no Node headers): mergeable bin sketches, binned matrix,
// histograms with subtraction, split finding, a best-first grower (depth and leaf
// limits), flattened trees and batch prediction.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace rx {
namespace tree {

// ---- sketch (bottom-k distinct values by hash: mergeable, order independent) ----
struct Sketch {
  std::vector<double> values;  // sorted ascending, distinct
  std::vector<double> counts;  // weight (row count) per value
  double missing = 0;          // rows with a missing value
  bool full = false;           // true once values were dropped (sample, not exact)
};
// Adds a chunk of values (NaN = missing) to a sketch holding at most k distinct values.
void sketch_add(Sketch& s, const double* x, const uint8_t* valid, std::size_t n, std::size_t k);
// Bin boundaries: per value bin, the smallest and largest sketch value in it.
// Exact (one value per bin) when the number of distinct values <= maxBins.
void sketch_bins(const Sketch& s, int maxBins, std::vector<double>& lo, std::vector<double>& hi);

// ---- binned data ----
// Every feature has value bins 0..V-1 and one missing bin V (so nbins = V + 1).
struct Data {
  int64_t n = 0;
  int p = 0;
  const uint8_t* b8 = nullptr;    // column-major n*p (one of b8 / b16)
  const uint16_t* b16 = nullptr;
  std::vector<int> nbins;         // per feature, incl. the missing bin
  std::vector<int> offset;        // histogram offset per feature (prefix sum of nbins)
  std::vector<uint8_t> categorical;
  const uint8_t* rows8 = nullptr; // optional row-major copy of b8 (p bytes per row): histograms
                                  // over scattered rows touch one cache line per row, not p
  const double* lo = nullptr;     // per bin (by offset): smallest value in the bin
  const double* hi = nullptr;     // largest value in the bin
  inline int bin(int f, int64_t i) const {
    return b8 ? b8[static_cast<int64_t>(f) * n + i] : b16[static_cast<int64_t>(f) * n + i];
  }
  void finish();                  // fills offset
  int total_bins() const { return offset.empty() ? 0 : offset.back() + nbins.back(); }
};

// Row-major copy of a uint8 binned matrix (empty when the data are uint16).
std::vector<uint8_t> row_major_bins(const Data& d);

// Bins one numeric column chunk: value bins by `hi` boundaries (midpoints), NaN -> missing bin.
void bin_numeric(const double* x, const uint8_t* valid, std::size_t n, const double* lo, const double* hi,
                 int nvalue, uint8_t* out8, uint16_t* out16);

// ---- flattened trees ----
struct Tree {
  int K = 1;                        // values per node
  std::vector<int> feature;         // -1 for a leaf
  std::vector<double> threshold;    // numeric: x <= threshold goes left
  std::vector<int> splitBin;        // the same split in bin space (bin <= splitBin goes left)
  std::vector<int> left, right;
  std::vector<uint8_t> defaultLeft; // missing goes left
  std::vector<int> catOffset;       // -1 numeric, else offset into catBits (level bitset; set = left)
  std::vector<int> catWords;
  std::vector<uint32_t> catBits;
  std::vector<double> value;        // K per node
  std::vector<double> gain;         // split gain (0 for leaves)
  std::vector<double> cover;        // sum of weights / hessians
  std::vector<double> count;        // rows (weighted by bag counts)
  int add_node(int K);
};

// Descends a tree in bin space (rows of the training data).
int leaf_of_binned(const Tree& t, const Data& d, int64_t row);

// ---- growing ----
enum Criterion { kSumSq = 0, kEntropy = 1 };
struct GrowParams {
  int K = 1;                 // gradient channels
  int maxDepth = -1;         // < 0: unlimited
  int maxLeaves = 0;         // 0: unlimited
  double lambda = 0;         // L2 on leaf values (sum-of-squares criterion only)
  double minHess = 0;        // min cover per child
  double minLeaf = 1;        // min rows per child
  double minSplit = 2;       // min rows to split a node
  double minGain = 0;        // min gain to split
  int mTry = 0;              // features tried per node (0: all)
  double featureFraction = 1;// features per tree
  int maxUnorderedLevels = 64;
  int criterion = kSumSq;
  bool gradient = true;      // leaf = -G/(H+lambda) (boosting) else G/H (forest means/proportions)
  bool localMidpoint = false;// thresholds midway between values present in the node (rpart)
  bool missingInGain = true; // missing rows take part in the split gain (false: rpart)
  bool serial = false;       // no inner threads (the caller parallelises over trees)
  std::vector<double> featureCost;  // rpart `cost`: a split's gain is divided by its variable's cost
};
// Per-row statistics: h[i] and g[i*K + k]; rows given by `rows` (with multiplicity weights
// folded into g/h by the caller) and `cnt` (row counts, e.g. bootstrap multiplicity).
struct RowStats {
  const double* g = nullptr;
  const double* h = nullptr;
  const double* cnt = nullptr;  // may be null (1 per row)
  // K == 1 alternative to g/h/cnt: one record per row, (h, g) or (h, g, cnt) when packedCnt,
  // so gathering a leaf's statistics touches one cache line per row
  const double* packed = nullptr;
  bool packedCnt = false;
  bool has_cnt() const { return cnt != nullptr || (packed != nullptr && packedCnt); }
};
struct GrowResult {
  Tree tree;
  std::vector<int64_t> rows;    // the input rows, permuted so each leaf's rows are contiguous
  std::vector<int> leafOfPos;   // per entry of `rows` (permuted): node index of its leaf
};
// Buffers reused from tree to tree (boosting): rows and their partition, ordered
// statistics, a pool of histograms. With a workspace, grow_tree leaves `rows` and
// `leafOfPos` of its result empty and reports the leaves as ranges of ws.rows instead.
struct LeafRange {
  int node;
  int64_t begin, end;
};
struct GrowWorkspace {
  std::vector<int64_t> rows, tmp;
  std::vector<double> ord;
  std::vector<std::shared_ptr<std::vector<double>>> pool;
  std::vector<LeafRange> leaves;
};
GrowResult grow_tree(const Data& d, const RowStats& st, const std::vector<int64_t>& rows, const GrowParams& prm,
                     uint64_t seed, GrowWorkspace* ws = nullptr);

// ---- prediction on raw values (column-major x[f*n + i], NaN = missing) ----
// Adds weight * tree value to out[i*K + k] for each tree.
void predict_trees(const std::vector<const Tree*>& trees, const double* x, int64_t n, int p, int K,
                   const std::vector<double>& treeWeight, const std::vector<int>& treeClass, double* out);
int leaf_of_raw(const Tree& t, const double* x, int64_t n, int64_t i);

// Deterministic RNG (splitmix64 / xoshiro-lite).
struct Rng {
  uint64_t s;
  // the seed is hashed so nearby seeds give unrelated streams (not shifted copies of one)
  explicit Rng(uint64_t seed) : s(mix(seed ^ 0x632BE59BD9B4E019ULL)) {}
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDULL;
    z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ULL;
    return z ^ (z >> 33);
  }
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double unif() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
};

}  // namespace tree
}  // namespace rx
