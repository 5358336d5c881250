// Real-time scorers: see scorer.h.
#include "score/scorer.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/threads.h"

namespace rx {
namespace score {

void Scorer::score_batch(const double* x, int64_t n, double* out) const {
  parallel_for(static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e, int) {
    score_range(x, n, static_cast<int64_t>(b), static_cast<int64_t>(e), out);
  }, 2048);
}

// ---------------------------------------------------------------- trees

TreeScorer::TreeScorer(const TreeArrays& a) : p_(a.p), K_(a.K), outputs_(a.outputs), post_(a.post) {
  auto bad = [](const std::string& m) { throw Error("RX_MODEL", "tree scorer: " + m); };
  if (a.K < 1 || a.outputs < 1 || a.p < 0) bad("bad K / outputs / p");
  if (a.p > kFeatMask) bad("too many features");
  if (a.post < kRaw || a.post > kSigmoidTriple) bad("bad post-processing code");
  if ((a.post == kSigmoidPair || a.post == kPair || a.post == kSigmoidTriple) && a.outputs != 1) bad("binary post-processing needs one raw output");
  if (!a.init.empty() && static_cast<int>(a.init.size()) != a.outputs) bad("init must have one value per output");
  if (a.nTrees < 0 || (a.nTrees > 0 && a.nodeOffset[a.nTrees] != a.nNodes)) bad("node offsets do not match the node count");
  width_ = a.post == kSigmoidTriple ? 3 : (a.post == kSigmoidPair || a.post == kPair) ? 2 : a.outputs;
  init_ = a.init;
  // validate every tree first: children inside their tree and stored after their parent
  // (so every walk ends), features within p, categorical bitsets within catBits
  for (int64_t t = 0; t < a.nTrees; ++t) {
    const int32_t s = a.nodeOffset[t], e = a.nodeOffset[t + 1];
    if (s < 0 || e <= s || e > a.nNodes) bad("bad node offsets");
    const int cls = a.treeClass[t];
    if (cls >= a.outputs) bad("tree class beyond the outputs");
    if (cls < 0 && a.K != 1 && a.K != a.outputs) bad("node values do not match the outputs");
    for (int32_t i = s; i < e; ++i) {
      if (a.feature[i] < 0) continue;
      if (a.feature[i] >= a.p) bad("a split uses a feature beyond p");
      const int32_t l = a.left[i], r = a.right[i];
      if (l <= 0 || r <= 0 || l >= e - s || r >= e - s) bad("child index out of range");
      if (s + l <= i || s + r <= i) bad("tree nodes must be stored parents before children");
      if (a.catOffset[i] >= 0 && (a.catWords[i] < 0 || a.catOffset[i] + static_cast<int64_t>(a.catWords[i]) > a.nCatBits)) bad("categorical bitset out of range");
    }
  }
  // re-lay each tree breadth-first from its root with the children of a node side by side
  std::vector<int32_t> queue;
  for (int64_t t = 0; t < a.nTrees; ++t) {
    const int32_t s = a.nodeOffset[t];
    const int32_t base = static_cast<int32_t>(nodes_.size());
    roots_.push_back(base);
    cls_.push_back(a.treeClass[t]);
    weight_.push_back(a.treeWeight[t]);
    queue.assign(1, s);  // queue[q] = source node of new node base + q
    nodes_.push_back(Node16{});
    for (std::size_t q = 0; q < queue.size(); ++q) {
      const int32_t i = queue[q];
      const int32_t at = base + static_cast<int32_t>(q);
      Node16 nd{};
      if (a.feature[i] < 0) {
        nd.threshold = INFINITY;
        nd.f = kNanLeft;
        nd.left = at;
      } else {
        nd.threshold = a.threshold[i];
        nd.f = a.feature[i] | (a.defaultLeft[i] ? kNanLeft : 0);
        nd.left = static_cast<int32_t>(nodes_.size());
        queue.push_back(s + a.left[i]);
        queue.push_back(s + a.right[i]);
        nodes_.push_back(Node16{});
        nodes_.push_back(Node16{});
        if (a.catOffset[i] >= 0) {
          nd.f |= kCat;
          hasCat_ = true;
          if (catOff_.size() < static_cast<std::size_t>(at) + 1) {
            catOff_.resize(static_cast<std::size_t>(at) + 1, 0);
            catLim_.resize(static_cast<std::size_t>(at) + 1, 0);
          }
          catOff_[at] = static_cast<int32_t>(catBits_.size());
          catLim_[at] = a.catWords[i] * 32;
          for (int w = 0; w < a.catWords[i]; ++w) catBits_.push_back(static_cast<uint32_t>(a.catBits[a.catOffset[i] + w]));
        }
      }
      nodes_[at] = nd;
      values_.resize(nodes_.size() * static_cast<std::size_t>(K_), 0.0);
      if (a.feature[i] < 0)
        for (int k = 0; k < K_; ++k) values_[static_cast<std::size_t>(at) * K_ + k] = a.value[static_cast<int64_t>(i) * K_ + k];
    }
  }
  values_.resize(nodes_.size() * static_cast<std::size_t>(K_), 0.0);
  catOff_.resize(nodes_.size(), 0);
  catLim_.resize(nodes_.size(), 0);
}

// One step from node i for the row xr (a leaf stays put).
template <bool Cat>
inline int32_t TreeScorer::step(int32_t i, const double* xr) const {
  const Node16& nd = nodes_[static_cast<std::size_t>(i)];
  const double v = xr[nd.f & kFeatMask];
  const int32_t nanLeft = (nd.f >> 24) & 1;
  int32_t goLeft;
  if (Cat && (nd.f & kCat)) {
    if (v != v) {
      goLeft = nanLeft;
    } else {
      goLeft = v >= 0 && v < catLim_[i];
      if (goLeft) {
        const int c = static_cast<int>(v);
        goLeft = (catBits_[catOff_[i] + (c >> 5)] >> (c & 31)) & 1u;
      }
    }
  } else {
    // x <= t goes left; NaN goes the learned default way
    goLeft = static_cast<int32_t>(v <= nd.threshold) | (static_cast<int32_t>(v != v) & nanLeft);
  }
  return nd.left + 1 - goLeft;
}

// Advances G walks (idx[g] over row xr[g]) together until every one is at a leaf.
template <bool Cat, int G>
inline void TreeScorer::walk(int32_t* idx, const double* const* xr) const {
  for (;;) {
    int32_t moved = 0;
    for (int g = 0; g < G; ++g) {
      const int32_t nx = step<Cat>(idx[g], xr[g]);
      moved |= nx ^ idx[g];
      idx[g] = nx;
    }
    if (!moved) return;
  }
}

inline void TreeScorer::add_leaf(double* raw, std::size_t t, int32_t leaf) const {
  const double* v = values_.data() + static_cast<std::size_t>(leaf) * K_;
  const double w = weight_[t];
  const int c = cls_[t];
  if (c >= 0)
    raw[c] += w * v[0];
  else
    for (int k = 0; k < K_; ++k) raw[k] += w * v[k];
}

void TreeScorer::finish(const double* raw, double* out) const {
  switch (post_) {
    case kRaw:
      break;
    case kExp:
      for (int k = 0; k < outputs_; ++k) out[k] = std::exp(raw[k]);
      break;
    case kSigmoidPair:
    case kSigmoidTriple: {
      const double r = raw[0];
      const double p1 = 1.0 / (1.0 + std::exp(-r));
      out[0] = 1 - p1;
      out[1] = p1;
      if (post_ == kSigmoidTriple) out[2] = r;
      break;
    }
    case kPair: {
      const double r = raw[0];
      out[0] = 1 - r;
      out[1] = r;
      break;
    }
    case kSoftmax: {
      double mx = -INFINITY;
      for (int k = 0; k < outputs_; ++k) mx = std::max(mx, raw[k]);
      double z = 0;
      for (int k = 0; k < outputs_; ++k) z += std::exp(raw[k] - mx);
      for (int k = 0; k < outputs_; ++k) out[k] = std::exp(raw[k] - mx) / z;
      break;
    }
  }
}

namespace {
constexpr int kRowLanes = 8;    // trees walked together for one row
constexpr int kBatchLanes = 8;  // rows walked together through one tree
constexpr int64_t kBlock = 64;  // rows per block (a block's inputs stay in L1)
const double kNoInput[1] = {0.0};
}  // namespace

template <bool Cat>
void TreeScorer::row_impl(const double* x, double* out) const {
  // pair outputs: the single raw sum lives on the stack; otherwise sums go straight to out
  double one = 0;
  double* raw = width_ == outputs_ ? out : &one;
  for (int k = 0; k < outputs_; ++k) raw[k] = 0.0;
  if (p_ == 0) x = kNoInput;
  const std::size_t T = roots_.size();
  const double* xr[kRowLanes];
  for (int g = 0; g < kRowLanes; ++g) xr[g] = x;
  int32_t idx[kRowLanes];
  std::size_t t = 0;
  for (; t + kRowLanes <= T; t += kRowLanes) {
    for (int g = 0; g < kRowLanes; ++g) idx[g] = roots_[t + g];
    walk<Cat, kRowLanes>(idx, xr);
    // sums in tree order, as rxPredictTrees adds them
    for (int g = 0; g < kRowLanes; ++g) add_leaf(raw, t + g, idx[g]);
  }
  for (; t < T; ++t) {
    idx[0] = roots_[t];
    walk<Cat, 1>(idx, xr);
    add_leaf(raw, t, idx[0]);
  }
  // the boosting init is added after the tree sums (as rxPredictTrees does)
  if (!init_.empty())
    for (int k = 0; k < outputs_; ++k) raw[k] += init_[k];
  finish(raw, out);
}

void TreeScorer::score_row(const double* x, double* out) const {
  if (hasCat_)
    row_impl<true>(x, out);
  else
    row_impl<false>(x, out);
}

template <bool Cat>
void TreeScorer::range_impl(const double* x, int64_t n, int64_t b, int64_t e, double* out) const {
  // blocks of rows, every tree per block: the block's inputs and the tree stay in cache
  const int pp = std::max(p_, 1);
  std::vector<double> raw(static_cast<std::size_t>(kBlock) * outputs_);
  // the block's rows, transposed to row-major: a row's features share cache lines
  std::vector<double> xb(static_cast<std::size_t>(kBlock) * pp, 0.0);
  std::vector<int32_t> leaf(static_cast<std::size_t>(kBlock));
  const std::size_t T = roots_.size();
  for (int64_t s = b; s < e; s += kBlock) {
    const int64_t m = std::min(e, s + kBlock) - s;
    for (int j = 0; j < p_; ++j) {
      const double* col = x + static_cast<int64_t>(j) * n + s;
      for (int64_t i = 0; i < m; ++i) xb[i * pp + j] = col[i];
    }
    std::fill(raw.begin(), raw.begin() + m * outputs_, 0.0);
    for (std::size_t t = 0; t < T; ++t) {
      const int32_t root = roots_[t];
      int64_t i = 0;
      for (; i + kBatchLanes <= m; i += kBatchLanes) {
        const double* xr[kBatchLanes];
        int32_t* idx = leaf.data() + i;
        for (int g = 0; g < kBatchLanes; ++g) {
          xr[g] = xb.data() + (i + g) * pp;
          idx[g] = root;
        }
        walk<Cat, kBatchLanes>(idx, xr);
      }
      for (; i < m; ++i) {
        const double* xr = xb.data() + i * pp;
        leaf[i] = root;
        walk<Cat, 1>(leaf.data() + i, &xr);
      }
      for (int64_t r = 0; r < m; ++r) add_leaf(raw.data() + r * outputs_, t, leaf[r]);
    }
    for (int64_t i = 0; i < m; ++i) {
      double* r = raw.data() + i * outputs_;
      if (!init_.empty())
        for (int k = 0; k < outputs_; ++k) r[k] += init_[k];
      double* o = out + (s + i) * width_;
      if (width_ == outputs_) std::copy(r, r + outputs_, o);
      finish(r, o);
    }
  }
}

void TreeScorer::score_range(const double* x, int64_t n, int64_t b, int64_t e, double* out) const {
  if (hasCat_)
    range_impl<true>(x, n, b, e, out);
  else
    range_impl<false>(x, n, b, e, out);
}

// ---------------------------------------------------------------- linear

LinearScorer::LinearScorer(LinearSpec s) : s_(std::move(s)) {
  auto bad = [](const std::string& m) { throw Error("RX_MODEL", "linear scorer: " + m); };
  const std::size_t T = s_.slot.size();
  if (s_.numOff.size() != T + 1 || s_.facOff.size() != T + 1) bad("term offsets must have one entry per term plus one");
  if (s_.facIdx.size() != s_.facSize.size()) bad("factor sizes do not match");
  if (s_.link < kIdentity || s_.link > kPower) bad("unknown link");
  auto input = [&](int32_t j) {
    if (j < 0 || j >= s_.nInputs) bad("input index out of range");
  };
  for (int32_t j : s_.numIdx) input(j);
  for (int32_t j : s_.facIdx) input(j);
  for (int32_t j : s_.offsets) input(j);
  if (!s_.numFn.empty() && s_.numFn.size() != s_.numIdx.size()) bad("numFn must have one code per numeric index");
  for (int32_t f : s_.numFn)
    if (f < kFnNone || f > kFnExpm1) bad("unknown function code");
  for (std::size_t t = 0; t < T; ++t) {
    if (s_.numOff[t] < 0 || s_.numOff[t + 1] < s_.numOff[t] || s_.numOff[t + 1] > static_cast<int32_t>(s_.numIdx.size())) bad("bad numeric offsets");
    if (s_.facOff[t] < 0 || s_.facOff[t + 1] < s_.facOff[t] || s_.facOff[t + 1] > static_cast<int32_t>(s_.facIdx.size())) bad("bad factor offsets");
    int64_t size = 1;
    for (int32_t q = s_.facOff[t]; q < s_.facOff[t + 1]; ++q) {
      if (s_.facSize[q] < 1) bad("a factor needs at least one level");
      size *= s_.facSize[q];
    }
    if (s_.slot[t] < 0 || s_.slot[t] + size > static_cast<int64_t>(s_.beta.size())) bad("coefficient slots out of range");
  }
}

namespace {
inline double apply_fn(int32_t f, double v) {
  switch (f) {
    case kFnLog:
      return std::log(v);
    case kFnExp:
      return std::exp(v);
    case kFnSqrt:
      return std::sqrt(v);
    case kFnAbs:
      return std::fabs(v);
    case kFnLog10:
      return std::log10(v);
    case kFnLog2:
      return std::log2(v);
    case kFnLog1p:
      return std::log1p(v);
    case kFnExpm1:
      return std::expm1(v);
    default:
      return v;
  }
}
}  // namespace

template <typename Get>
inline double LinearScorer::eta(Get get) const {
  double eta = s_.intercept;
  for (int32_t o : s_.offsets) eta += get(o);
  const std::size_t T = s_.slot.size();
  for (std::size_t t = 0; t < T; ++t) {
    double prod = 1;
    if (s_.numFn.empty())
      for (int32_t q = s_.numOff[t]; q < s_.numOff[t + 1]; ++q) prod *= get(s_.numIdx[q]);
    else
      for (int32_t q = s_.numOff[t]; q < s_.numOff[t + 1]; ++q) prod *= apply_fn(s_.numFn[q], get(s_.numIdx[q]));
    int64_t combo = 0, stride = 1;
    for (int32_t q = s_.facOff[t]; q < s_.facOff[t + 1]; ++q) {
      const double c = get(s_.facIdx[q]);
      if (!(c >= 0 && c < s_.facSize[q])) return NAN;  // missing or unknown level
      combo += static_cast<int64_t>(c) * stride;
      stride *= s_.facSize[q];
    }
    eta += s_.beta[s_.slot[t] + combo] * prod;
  }
  // a non-finite numeric anywhere makes the row missing (as rxPredict)
  return std::isfinite(eta) ? eta : NAN;
}

double LinearScorer::inv(double e) const {
  if (std::isnan(e)) return e;
  constexpr double EPS = DBL_EPSILON;
  switch (s_.link) {
    case kIdentity:
      return e;
    case kLog:
      return std::max(std::exp(e), EPS);
    case kLogit: {
      const double t = e < -30 ? EPS : e > 30 ? 1 / EPS : std::exp(e);
      return t / (1 + t);
    }
    case kProbit: {
      const double TH = 8.125890664701906;
      const double z = std::min(std::max(e, -TH), TH);
      return 0.5 * std::erfc(-z * M_SQRT1_2);
    }
    case kCloglog:
      return std::max(std::min(-std::expm1(-std::exp(e)), 1 - EPS), EPS);
    case kInverse:
      return 1 / e;
    case kInvSquare:
      return 1 / std::sqrt(e);
    case kSqrt:
      return e * e;
    case kPower:
      return std::pow(std::max(e, EPS), 1 / s_.linkPower);
  }
  return e;
}

void LinearScorer::score_row(const double* x, double* out) const {
  out[0] = inv(eta([x](int32_t j) { return x[j]; }));
}

void LinearScorer::score_range(const double* x, int64_t n, int64_t b, int64_t e, double* out) const {
  for (int64_t i = b; i < e; ++i) out[i] = inv(eta([x, n, i](int32_t j) { return x[static_cast<int64_t>(j) * n + i]; }));
}

}  // namespace score
}  // namespace rx
