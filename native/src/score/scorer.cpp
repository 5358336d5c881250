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
  if (a.post < kRaw || a.post > kSigmoidTriple) bad("bad post-processing code");
  if ((a.post == kSigmoidPair || a.post == kPair || a.post == kSigmoidTriple) && a.outputs != 1) bad("binary post-processing needs one raw output");
  if (!a.init.empty() && static_cast<int>(a.init.size()) != a.outputs) bad("init must have one value per output");
  if (a.nTrees < 0 || (a.nTrees > 0 && a.nodeOffset[a.nTrees] != a.nNodes)) bad("node offsets do not match the node count");
  width_ = a.post == kSigmoidTriple ? 3 : (a.post == kSigmoidPair || a.post == kPair) ? 2 : a.outputs;
  init_ = a.init;
  nodes_.resize(static_cast<std::size_t>(a.nNodes));
  values_.reserve(static_cast<std::size_t>(a.nNodes) * a.K / 2 + 1);
  for (int64_t t = 0; t < a.nTrees; ++t) {
    const int32_t s = a.nodeOffset[t], e = a.nodeOffset[t + 1];
    if (s < 0 || e <= s || e > a.nNodes) bad("bad node offsets");
    const int cls = a.treeClass[t];
    if (cls >= a.outputs) bad("tree class beyond the outputs");
    if (cls < 0 && a.K != 1 && a.K != a.outputs) bad("node values do not match the outputs");
    roots_.push_back(s);
    cls_.push_back(cls);
    weight_.push_back(a.treeWeight[t]);
    for (int32_t i = s; i < e; ++i) {
      Node& nd = nodes_[i];
      nd.feature = a.feature[i];
      nd.threshold = a.threshold[i];
      nd.defaultLeft = a.defaultLeft[i] ? 1 : 0;
      nd.cat = -1;
      nd.catLimit = 0;
      nd.right = 0;
      if (nd.feature < 0) {
        nd.feature = 0;
        nd.threshold = NAN;
        nd.defaultLeft = 0;
        nd.left = nd.right = i;
        nd.cat = kLeaf;
        nd.catLimit = static_cast<int32_t>(values_.size());
        for (int k = 0; k < a.K; ++k) values_.push_back(a.value[static_cast<int64_t>(i) * a.K + k]);
        continue;
      }
      if (nd.feature >= a.p) bad("a split uses a feature beyond p");
      const int32_t l = a.left[i], r = a.right[i];
      if (l <= 0 || r <= 0 || l >= e - s || r >= e - s) bad("child index out of range");
      nd.left = s + l;
      nd.right = s + r;
      if (a.catOffset[i] >= 0) {
        if (a.catOffset[i] + static_cast<int64_t>(a.catWords[i]) > a.nCatBits) bad("categorical bitset out of range");
        nd.cat = static_cast<int32_t>(catBits_.size());
        nd.catLimit = a.catWords[i] * 32;
        for (int w = 0; w < a.catWords[i]; ++w) catBits_.push_back(static_cast<uint32_t>(a.catBits[a.catOffset[i] + w]));
      }
    }
  }
  // children must point forward within their tree, so every walk ends (no cycles)
  for (std::size_t t = 0; t < roots_.size(); ++t) {
    const int32_t s = roots_[t], e = a.nodeOffset[t + 1];
    for (int32_t i = s; i < e; ++i)
      if (nodes_[i].cat != kLeaf && (nodes_[i].left <= i || nodes_[i].right <= i || nodes_[i].left >= e || nodes_[i].right >= e))
        bad("tree nodes must be stored parents before children");
  }
}

template <typename Get>
inline int32_t TreeScorer::leaf(int32_t root, Get get) const {
  const Node* nodes = nodes_.data();
  const Node* nd = nodes + root;
  while (nd->cat != kLeaf) {
    const double v = get(nd->feature);
    bool goLeft;
    if (nd->cat < 0) {
      // numeric split without branches: x <= t, or NaN and the default goes left
      goLeft = (v <= nd->threshold) | ((v != v) & (nd->defaultLeft != 0));
    } else if (std::isnan(v)) {
      goLeft = nd->defaultLeft != 0;
    } else {
      goLeft = v >= 0 && v < nd->catLimit;
      if (goLeft) {
        const int c = static_cast<int>(v);
        goLeft = (catBits_[nd->cat + (c >> 5)] >> (c & 31)) & 1u;
      }
    }
    nd = nodes + (goLeft ? nd->left : nd->right);
  }
  return nd->catLimit;
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

void TreeScorer::score_row(const double* x, double* out) const {
  // pair outputs: the single raw sum lives on the stack; otherwise sums go straight to out
  double one = 0;
  double* raw = width_ == outputs_ ? out : &one;
  for (int k = 0; k < outputs_; ++k) raw[k] = 0.0;
  const std::size_t T = roots_.size();
  auto get = [x](int f) { return x[f]; };
  for (std::size_t t = 0; t < T; ++t) {
    const double* v = values_.data() + leaf(roots_[t], get);
    const double w = weight_[t];
    const int c = cls_[t];
    if (c >= 0)
      raw[c] += w * v[0];
    else
      for (int k = 0; k < K_; ++k) raw[k] += w * v[k];
  }
  // the boosting init is added after the tree sums (as rxPredictTrees does)
  if (!init_.empty())
    for (int k = 0; k < outputs_; ++k) raw[k] += init_[k];
  finish(raw, out);
}

void TreeScorer::score_range(const double* x, int64_t n, int64_t b, int64_t e, double* out) const {
  // blocks of rows, every tree per block: the block's inputs and the tree stay in cache
  constexpr int64_t B = 64;
  std::vector<double> raw(static_cast<std::size_t>(B) * outputs_);
  // the block's rows, transposed to row-major: a row's features share cache lines
  std::vector<double> xb(static_cast<std::size_t>(B) * std::max(p_, 1));
  const std::size_t T = roots_.size();
  for (int64_t s = b; s < e; s += B) {
    const int64_t m = std::min(e, s + B) - s;
    for (int j = 0; j < p_; ++j) {
      const double* col = x + static_cast<int64_t>(j) * n + s;
      for (int64_t i = 0; i < m; ++i) xb[i * p_ + j] = col[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int k = 0; k < outputs_; ++k) raw[i * outputs_ + k] = 0.0;
    for (std::size_t t = 0; t < T; ++t) {
      const double w = weight_[t];
      const int c = cls_[t];
      const int32_t root = roots_[t];
      for (int64_t i = 0; i < m; ++i) {
        const double* xr = xb.data() + i * p_;
        const double* v = values_.data() + leaf(root, [xr](int f) { return xr[f]; });
        double* r = raw.data() + i * outputs_;
        if (c >= 0)
          r[c] += w * v[0];
        else
          for (int k = 0; k < K_; ++k) r[k] += w * v[k];
      }
    }
    for (int64_t i = 0; i < m; ++i) {
      if (!init_.empty())
        for (int k = 0; k < outputs_; ++k) raw[i * outputs_ + k] += init_[k];
      double* o = out + (s + i) * width_;
      if (width_ == outputs_) std::copy(raw.begin() + i * outputs_, raw.begin() + (i + 1) * outputs_, o);
      finish(raw.data() + i * outputs_, o);
    }
  }
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

template <typename Get>
inline double LinearScorer::eta(Get get) const {
  double eta = s_.intercept;
  for (int32_t o : s_.offsets) eta += get(o);
  const std::size_t T = s_.slot.size();
  for (std::size_t t = 0; t < T; ++t) {
    double prod = 1;
    for (int32_t q = s_.numOff[t]; q < s_.numOff[t + 1]; ++q) prod *= get(s_.numIdx[q]);
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
