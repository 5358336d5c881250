// Real-time scorers (no Node headers): compiled tree ensembles and linear models that
// score one row (no allocation) or a batch (rows split over rx::parallel_for).
//
// Trees are flattened into one contiguous array of 16-byte nodes (children side by side,
// leaves as fixed points), so scoring is a branch-free walk; several walks are advanced
// together (rows of a block in batches, trees of the row in single-row scoring) so their
// memory loads overlap.
// Decisions are those of rx::tree (native/src/tree): NaN -> the learned default
// direction; numeric: x <= threshold goes left; categorical: level code in the bitset
// goes left (codes outside it go right).
#pragma once
#include <cstdint>
#include <vector>

namespace rx {
namespace score {

class Scorer {
 public:
  virtual ~Scorer() = default;
  // Number of input values per row.
  virtual int inputs() const = 0;
  // Output values per row.
  virtual int width() const = 0;
  // One row: x[inputs()] -> out[width()]. No allocation.
  virtual void score_row(const double* x, double* out) const = 0;
  // Rows [b, e) of a column-major batch x[j*n + i] -> out[i*width() + k].
  virtual void score_range(const double* x, int64_t n, int64_t b, int64_t e, double* out) const = 0;
  // Whole batch on the thread budget.
  void score_batch(const double* x, int64_t n, double* out) const;
};

// Post-processing of tree sums (raw, K outputs, init added):
// kSigmoidTriple: [1 - p, p, raw] (rxFastTrees' Score is the raw sum).
enum TreePost { kRaw = 0, kExp = 1, kSigmoidPair = 2, kSoftmax = 3, kPair = 4, kSigmoidTriple = 5 };

struct TreeArrays {
  int K = 1;                        // values per node
  int outputs = 1;                  // raw outputs per row
  int p = 0;                        // features
  const int32_t* nodeOffset = nullptr;
  int64_t nTrees = 0;
  const int32_t* feature = nullptr;
  const double* threshold = nullptr;
  const int32_t* left = nullptr;
  const int32_t* right = nullptr;
  const uint8_t* defaultLeft = nullptr;
  const int32_t* catOffset = nullptr;
  const int32_t* catWords = nullptr;
  const int32_t* catBits = nullptr;
  int64_t nCatBits = 0;
  const double* value = nullptr;
  const int32_t* treeClass = nullptr;
  const double* treeWeight = nullptr;
  int64_t nNodes = 0;
  std::vector<double> init;         // empty or `outputs` values
  int post = kRaw;
};

// 16-byte nodes, the two children of a node stored side by side (right = left + 1), so a
// step is `next = left + !goLeft` without branches. `f` holds the feature (low 24 bits),
// kNanLeft (NaN goes left) and kCat (categorical: catOff_/catLim_ of this node). A leaf
// has threshold +inf, kNanLeft and left = itself: every step from a leaf stays put, so
// many walks (rows of a block, or trees of one row) advance in lock step until all are
// at leaves.
struct Node16 {
  double threshold;
  int32_t f;
  int32_t left;
};
constexpr int32_t kFeatMask = (1 << 24) - 1;
constexpr int32_t kNanLeft = 1 << 24;
constexpr int32_t kCat = 1 << 25;

class TreeScorer : public Scorer {
 public:
  // Validates and copies the arrays (throws rx::Error RX_MODEL on inconsistent input).
  explicit TreeScorer(const TreeArrays& a);
  int inputs() const override { return p_; }
  int width() const override { return width_; }
  void score_row(const double* x, double* out) const override;
  void score_range(const double* x, int64_t n, int64_t b, int64_t e, double* out) const override;

 private:
  template <bool Cat>
  inline int32_t step(int32_t i, const double* xr) const;
  template <bool Cat, int G>
  inline void walk(int32_t* idx, const double* const* xr) const;
  template <bool Cat>
  void row_impl(const double* x, double* out) const;
  template <bool Cat>
  void range_impl(const double* x, int64_t n, int64_t b, int64_t e, double* out) const;
  void add_leaf(double* raw, std::size_t t, int32_t leaf) const;
  void finish(const double* raw, double* out) const;
  int p_ = 0, K_ = 1, outputs_ = 1, width_ = 1, post_ = kRaw;
  bool hasCat_ = false;
  std::vector<Node16> nodes_;
  std::vector<int32_t> roots_, cls_, catOff_, catLim_;
  std::vector<double> weight_, values_, init_;  // values_: K per node (leaves only)
  std::vector<uint32_t> catBits_;
};

// Linear predictor over raw inputs: eta = intercept + sum over offsets of x[o]
//   + sum over terms of beta[slot(term, factor codes)] * product of the term's numerics
//   (each optionally through one of NumFn: log(x), exp(x), sqrt(x) ... in formulas),
// then the inverse link. A NaN input (or a factor code outside its levels) gives NaN.
enum NumFn { kFnNone = 0, kFnLog = 1, kFnExp = 2, kFnSqrt = 3, kFnAbs = 4, kFnLog10 = 5, kFnLog2 = 6, kFnLog1p = 7, kFnExpm1 = 8 };
enum Link { kIdentity = 0, kLog = 1, kLogit = 2, kProbit = 3, kCloglog = 4, kInverse = 5, kInvSquare = 6, kSqrt = 7, kPower = 8 };

struct LinearSpec {
  int nInputs = 0;
  double intercept = 0;
  // per term t: numerics numIdx[numOff[t] .. numOff[t+1]), factors facIdx/facSize[facOff[t] ..),
  // coefficients beta[slot[t] + combo] with combo = sum code_j * prod(size of earlier factors)
  std::vector<int32_t> numOff, numIdx, facOff, facIdx, facSize, slot;
  // per numeric factor numIdx[q]: a function applied to the input first (NumFn; empty = none)
  std::vector<int32_t> numFn;
  std::vector<double> beta;
  std::vector<int32_t> offsets;
  int link = kIdentity;
  double linkPower = 1;
};

class LinearScorer : public Scorer {
 public:
  explicit LinearScorer(LinearSpec s);
  int inputs() const override { return s_.nInputs; }
  int width() const override { return 1; }
  void score_row(const double* x, double* out) const override;
  void score_range(const double* x, int64_t n, int64_t b, int64_t e, double* out) const override;

 private:
  template <typename Get>
  inline double eta(Get get) const;
  double inv(double eta) const;
  LinearSpec s_;
};

}  // namespace score
}  // namespace rx
