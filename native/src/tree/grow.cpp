// Histogram grower shared by boosting, forests and rpart-style trees.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <queue>

#include "common/error.h"
#include "common/threads.h"
#include "tree/engine.h"
#include "tree/grower.h"

namespace rx {
namespace tree {

int Tree::add_node(int k) {
  K = k;
  int id = static_cast<int>(feature.size());
  feature.push_back(-1);
  threshold.push_back(0);
  splitBin.push_back(-1);
  left.push_back(-1);
  right.push_back(-1);
  defaultLeft.push_back(0);
  catOffset.push_back(-1);
  catWords.push_back(0);
  for (int i = 0; i < k; ++i) value.push_back(0);
  gain.push_back(0);
  cover.push_back(0);
  count.push_back(0);
  return id;
}

static inline bool cat_left(const Tree& t, int nd, int code) {
  return code >= 0 && code < t.catWords[nd] * 32 && ((t.catBits[t.catOffset[nd] + (code >> 5)] >> (code & 31)) & 1u);
}

int leaf_of_binned(const Tree& t, const Data& d, int64_t row) {
  int nd = 0;
  while (t.feature[nd] >= 0) {
    int f = t.feature[nd];
    int b = d.bin(f, row);
    bool goLeft;
    if (b == d.nbins[f] - 1)
      goLeft = t.defaultLeft[nd];
    else if (t.catOffset[nd] >= 0)
      goLeft = cat_left(t, nd, b);
    else
      goLeft = b <= t.splitBin[nd];
    nd = goLeft ? t.left[nd] : t.right[nd];
  }
  return nd;
}

int leaf_of_raw(const Tree& t, const double* x, int64_t n, int64_t i) {
  int nd = 0;
  while (t.feature[nd] >= 0) {
    double v = x[static_cast<int64_t>(t.feature[nd]) * n + i];
    bool goLeft;
    if (std::isnan(v))
      goLeft = t.defaultLeft[nd];
    else if (t.catOffset[nd] >= 0)
      goLeft = cat_left(t, nd, static_cast<int>(v));
    else
      goLeft = v <= t.threshold[nd];
    nd = goLeft ? t.left[nd] : t.right[nd];
  }
  return nd;
}

namespace {
// One cache line per node for scoring.
struct PNode {
  double threshold;
  int feature;  // -1 leaf
  int left, right;
  int cat;      // offset into catBits or -1
  int catWords;
  int defaultLeft;
  int valueIdx;
  int pad;
};
}  // namespace

void predict_trees(const std::vector<const Tree*>& trees, const double* x, int64_t n, int /*p*/, int K,
                   const std::vector<double>& treeWeight, const std::vector<int>& treeClass, double* out) {
  std::vector<std::vector<PNode>> packed(trees.size());
  for (std::size_t ti = 0; ti < trees.size(); ++ti) {
    const Tree& t = *trees[ti];
    auto& pn = packed[ti];
    pn.resize(t.feature.size());
    for (std::size_t i = 0; i < t.feature.size(); ++i)
      pn[i] = {t.threshold[i], t.feature[i], t.left[i], t.right[i], t.catOffset[i], t.catWords[i], t.defaultLeft[i], static_cast<int>(i) * t.K, 0};
  }
  parallel_for(static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e, int) {
    // blocks of rows, all trees per block: the block's x stays in cache
    const std::size_t B = 64;
    for (std::size_t s = b; s < e; s += B) {
      std::size_t t1 = std::min(e, s + B);
      for (std::size_t ti = 0; ti < trees.size(); ++ti) {
        const Tree& t = *trees[ti];
        const PNode* nodes = packed[ti].data();
        const double w = treeWeight[ti];
        const int cls = treeClass[ti];
        const int TK = t.K;
        for (std::size_t i = s; i < t1; ++i) {
          const PNode* nd = nodes;
          while (nd->feature >= 0) {
            double v = x[static_cast<int64_t>(nd->feature) * n + static_cast<int64_t>(i)];
            bool goLeft;
            if (std::isnan(v))
              goLeft = nd->defaultLeft;
            else if (nd->cat >= 0) {
              int c = static_cast<int>(v);
              goLeft = c >= 0 && c < nd->catWords * 32 && ((t.catBits[nd->cat + (c >> 5)] >> (c & 31)) & 1u);
            } else
              goLeft = v <= nd->threshold;
            nd = nodes + (goLeft ? nd->left : nd->right);
          }
          const double* val = t.value.data() + nd->valueIdx;
          if (cls >= 0)
            out[i * K + cls] += w * val[0];
          else
            for (int k = 0; k < TK; ++k) out[i * K + k] += w * val[k];
        }
      }
    }
  }, 1024);
}

Grower::Grower(const Data& d, const RowStats& st, const GrowParams& p, uint64_t seed, GrowWorkspace* ws)
    : d_(d), st_(st), p_(p), K_(p.K), S_(p.K + 2), rng_(seed) {
  if (!ws) {
    own_ = std::make_unique<GrowWorkspace>();
    ws = own_.get();
  }
  ws_ = ws;
}

Leaf Grower::start(const std::vector<int64_t>& rows, Tree& t) {
  ws_->rows.assign(rows.begin(), rows.end());
  if (ws_->tmp.size() < rows.size()) ws_->tmp.resize(rows.size());
  treeFeats_.clear();
  for (int f = 0; f < d_.p; ++f)
    if (d_.nbins[f] > 1) treeFeats_.push_back(f);
  if (p_.featureFraction < 1 && !treeFeats_.empty()) {
    std::size_t m = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(p_.featureFraction * treeFeats_.size())));
    for (std::size_t i = treeFeats_.size(); i > 1; --i) std::swap(treeFeats_[i - 1], treeFeats_[rng_.below(i)]);
    treeFeats_.resize(std::min(m, treeFeats_.size()));
    std::sort(treeFeats_.begin(), treeFeats_.end());
  }
  Leaf root;
  root.node = t.add_node(K_);
  root.begin = 0;
  root.end = static_cast<int64_t>(ws_->rows.size());
  root.depth = 0;
  totals(root);
  set_node(t, root);
  return root;
}

void Grower::totals(Leaf& l) const {
  const int64_t* rows = ws_->rows.data();
  l.cnt = 0;
  l.h = 0;
  l.g.assign(K_, 0);
  if (st_.packed) {
    const int W = st_.packedCnt ? 3 : 2;
    double c = 0, hh = 0, gg = 0;
    for (int64_t i = l.begin; i < l.end; ++i) {
      const double* o = st_.packed + rows[i] * W;
      c += st_.packedCnt ? o[2] : 1.0;
      hh += o[0];
      gg += o[1];
    }
    l.cnt = c;
    l.h = hh;
    l.g[0] = gg;
    return;
  }
  for (int64_t i = l.begin; i < l.end; ++i) {
    int64_t r = rows[i];
    l.cnt += rowCnt(r);
    l.h += st_.h[r];
    for (int k = 0; k < K_; ++k) l.g[k] += st_.g[r * K_ + k];
  }
}

void Grower::set_node(Tree& t, const Leaf& l) const {
  t.cover[l.node] = l.h;
  t.count[l.node] = l.cnt;
  for (int k = 0; k < K_; ++k) {
    double v;
    if (p_.gradient)
      v = l.h + p_.lambda > 0 ? -l.g[k] / (l.h + p_.lambda) : 0;
    else
      v = l.h > 0 ? l.g[k] / l.h : 0;
    t.value[static_cast<std::size_t>(l.node) * K_ + k] = v;
  }
}

bool Grower::may_split(const Leaf& l) const {
  if (p_.maxDepth >= 0 && l.depth >= p_.maxDepth) return false;
  if (l.cnt < p_.minSplit || l.cnt < 2 * p_.minLeaf) return false;
  return true;
}

std::shared_ptr<std::vector<double>> Grower::new_hist() {
  const std::size_t size = static_cast<std::size_t>(d_.total_bins()) * S_;
  // a pooled histogram nobody else holds (leaves release theirs as they finish)
  for (auto& h : ws_->pool)
    if (h.use_count() == 1) {
      if (h->size() != size) h->assign(size, 0.0);
      return h;
    }
  ws_->pool.push_back(std::make_shared<std::vector<double>>(size));
  return ws_->pool.back();
}

namespace {
// Histogram of one uint8 feature over a leaf: (count, h, g) per bin, statistics in leaf
// order (O: h, g interleaved), bins by row (or by position when the leaf is all rows in
// order). Four rows per step, their bins loaded first. (Also used for uint16 columns.)
template <bool kIdent, typename T = uint8_t>
void hist_u8_k1(const T* col, const int64_t* rows, const double* O, int64_t m, double* H) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const int b0 = kIdent ? col[i] : col[rows[i]];
    const int b1 = kIdent ? col[i + 1] : col[rows[i + 1]];
    const int b2 = kIdent ? col[i + 2] : col[rows[i + 2]];
    const int b3 = kIdent ? col[i + 3] : col[rows[i + 3]];
    const double* o = O + 2 * i;
    double* e = H + b0 * 3;
    e[0] += 1;
    e[1] += o[0];
    e[2] += o[1];
    e = H + b1 * 3;
    e[0] += 1;
    e[1] += o[2];
    e[2] += o[3];
    e = H + b2 * 3;
    e[0] += 1;
    e[1] += o[4];
    e[2] += o[5];
    e = H + b3 * 3;
    e[0] += 1;
    e[1] += o[6];
    e[2] += o[7];
  }
  for (; i < m; ++i) {
    double* e = H + (kIdent ? col[i] : col[rows[i]]) * 3;
    e[0] += 1;
    e[1] += O[2 * i];
    e[2] += O[2 * i + 1];
  }
}
// The same with row counts (O: h, g, cnt per row).
template <bool kIdent>
void hist_u8_k1c(const uint8_t* col, const int64_t* rows, const double* O, int64_t m, double* H) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const int b0 = kIdent ? col[i] : col[rows[i]];
    const int b1 = kIdent ? col[i + 1] : col[rows[i + 1]];
    const int b2 = kIdent ? col[i + 2] : col[rows[i + 2]];
    const int b3 = kIdent ? col[i + 3] : col[rows[i + 3]];
    const double* o = O + 3 * i;
    double* e = H + b0 * 3;
    e[0] += o[2];
    e[1] += o[0];
    e[2] += o[1];
    e = H + b1 * 3;
    e[0] += o[5];
    e[1] += o[3];
    e[2] += o[4];
    e = H + b2 * 3;
    e[0] += o[8];
    e[1] += o[6];
    e[2] += o[7];
    e = H + b3 * 3;
    e[0] += o[11];
    e[1] += o[9];
    e[2] += o[10];
  }
  for (; i < m; ++i) {
    double* e = H + (kIdent ? col[i] : col[rows[i]]) * 3;
    const double* o = O + 3 * i;
    e[0] += o[2];
    e[1] += o[0];
    e[2] += o[1];
  }
}
// Row-wise histograms of the features `fl` (offsets `off3` = 3 * histogram offset):
// each row's bins are one contiguous run of p bytes. kCnt: O holds (h, g, cnt) per row,
// else (h, g) with unit counts.
template <bool kCnt>
void hist_rows_k1(const uint8_t* R, int p, const int64_t* rows, const double* O, int64_t m, const int* fl, const int* off3,
                  int nf, double* H) {
  constexpr int W = kCnt ? 3 : 2;
  for (int64_t i = 0; i < m; ++i) {
    if (i + 16 < m) __builtin_prefetch(R + rows[i + 16] * p);
    const uint8_t* rp = R + rows[i] * p;
    const double* o = O + W * i;
    const double c = kCnt ? o[2] : 1.0, hh = o[0], gg = o[1];
    for (int j = 0; j < nf; ++j) {
      double* e = H + off3[j] + rp[fl[j]] * 3;
      e[0] += c;
      e[1] += hh;
      e[2] += gg;
    }
  }
}
}  // namespace

std::vector<uint8_t> row_major_bins(const Data& d) {
  std::vector<uint8_t> out;
  if (!d.b8 || d.p == 0) return out;
  out.resize(static_cast<std::size_t>(d.n) * d.p);
  const int p = d.p;
  parallel_for(static_cast<std::size_t>(d.n), [&](std::size_t b, std::size_t e, int) {
    // blocks of rows so both the source columns and the destination stay in cache
    for (std::size_t s = b; s < e; s += 4096) {
      std::size_t t = std::min(e, s + 4096);
      for (int f = 0; f < p; ++f) {
        const uint8_t* col = d.b8 + static_cast<int64_t>(f) * d.n;
        for (std::size_t i = s; i < t; ++i) out[i * p + f] = col[i];
      }
    }
  }, 1 << 16);
  return out;
}

void Grower::build(const Leaf& l, const std::vector<int>& feats, std::vector<double>& h, bool zeroed) {
  const int S = S_, K = K_;
  const int64_t b0 = l.begin, b1 = l.end;
  const int64_t m = b1 - b0;
  const int64_t* rows = ws_->rows.data() + b0;
  const double* G = st_.g;
  const double* Hs = st_.h;
  const bool unitCnt = !st_.has_cnt();
  // the leaf is every row in order (an unsampled root): bins are read by position
  bool ident = m == d_.n;
  for (int64_t i = 0; ident && i < m; ++i) ident = rows[i] == i;
  // ordered statistics (LightGBM's "ordered gradients"): gather (h, g...) of the leaf's rows
  // once, so every feature streams them contiguously instead of gathering per feature
  const int W = 1 + K + (unitCnt ? 0 : 1);
  const bool identPacked = ident && st_.packed;
  if (!identPacked && ws_->ord.size() < static_cast<std::size_t>(m) * W) ws_->ord.resize(static_cast<std::size_t>(m) * W);
  double* ordp = ws_->ord.data();
  const double* P = st_.packed;
  auto gather = [&](std::size_t ib, std::size_t ie, int) {
    if (P) {
      for (std::size_t ii = ib; ii < ie; ++ii) {
        const double* src = P + rows[ii] * W;
        double* o = ordp + ii * W;
        for (int j = 0; j < W; ++j) o[j] = src[j];
      }
      return;
    }
    for (std::size_t ii = ib; ii < ie; ++ii) {
      int64_t r = rows[ii];
      double* o = ordp + ii * W;
      o[0] = Hs[r];
      for (int k = 0; k < K; ++k) o[1 + k] = G[r * K + k];
      if (!unitCnt) o[1 + K] = st_.cnt[r];
    }
  };
  const bool serial = p_.serial || m < 4096;
  const double* O = ordp;
  if (ident && P) {
    O = P;  // every row in order: the packed statistics are already in leaf order
  } else if (serial || m < (1 << 16)) {
    gather(0, static_cast<std::size_t>(m), 0);
  } else {
    parallel_for(static_cast<std::size_t>(m), gather, 1 << 15);
  }
  if (d_.rows8 && !ident && K == 1) {
    // row-wise: zero the features' bins, then one pass over the rows per block of features
    std::vector<int> off3(feats.size());
    for (std::size_t j = 0; j < feats.size(); ++j) {
      off3[j] = d_.offset[feats[j]] * 3;
      if (!zeroed) std::fill(h.data() + off3[j], h.data() + off3[j] + static_cast<std::size_t>(d_.nbins[feats[j]]) * 3, 0.0);
    }
    auto rbody = [&](std::size_t fb, std::size_t fe, int) {
      if (unitCnt)
        hist_rows_k1<false>(d_.rows8, d_.p, rows, O, m, feats.data() + fb, off3.data() + fb, static_cast<int>(fe - fb), h.data());
      else
        hist_rows_k1<true>(d_.rows8, d_.p, rows, O, m, feats.data() + fb, off3.data() + fb, static_cast<int>(fe - fb), h.data());
    };
    if (serial || feats.size() < 2)
      rbody(0, feats.size(), 0);
    else
      parallel_for(feats.size(), rbody, (feats.size() + 1) / 2);
    return;
  }
  auto body = [&](std::size_t fb, std::size_t fe, int) {
    for (std::size_t fi = fb; fi < fe; ++fi) {
      int f = feats[fi];
      double* H = h.data() + static_cast<std::size_t>(d_.offset[f]) * S;
      if (!zeroed) std::fill(H, H + static_cast<std::size_t>(d_.nbins[f]) * S, 0.0);
      const int64_t n = d_.n;
      if (d_.b8 && K == 1 && unitCnt) {
        const uint8_t* col = d_.b8 + static_cast<int64_t>(f) * n;
        if (ident)
          hist_u8_k1<true>(col, rows, O, m, H);
        else
          hist_u8_k1<false>(col, rows, O, m, H);
      } else if (d_.b16 && K == 1 && unitCnt) {
        const uint16_t* col = d_.b16 + static_cast<int64_t>(f) * n;
        if (ident)
          hist_u8_k1<true, uint16_t>(col, rows, O, m, H);
        else
          hist_u8_k1<false, uint16_t>(col, rows, O, m, H);
      } else if (d_.b8 && K == 1) {
        const uint8_t* col = d_.b8 + static_cast<int64_t>(f) * n;
        if (ident)
          hist_u8_k1c<true>(col, rows, O, m, H);
        else
          hist_u8_k1c<false>(col, rows, O, m, H);
      } else {
        for (int64_t i = 0; i < m; ++i) {
          const int64_t r = ident ? i : rows[i];
          int b = d_.b8 ? d_.b8[static_cast<int64_t>(f) * n + r] : d_.b16[static_cast<int64_t>(f) * n + r];
          double* e = H + static_cast<std::size_t>(b) * S;
          const double* o = O + i * W;
          e[0] += unitCnt ? 1.0 : o[1 + K];
          e[1] += o[0];
          for (int k = 0; k < K; ++k) e[2 + k] += o[1 + k];
        }
      }
    }
  };
  if (serial)
    body(0, feats.size(), 0);
  else
    parallel_for(feats.size(), body, 1);
}

double Grower::score(double h, const double* g) const {
  double s = 0;
  if (p_.criterion == kEntropy) {
    for (int k = 0; k < K_; ++k)
      if (g[k] > 0 && h > 0) s += g[k] * std::log(g[k] / h);
    return s;
  }
  double den = h + p_.lambda;
  if (den <= 0) return 0;
  for (int k = 0; k < K_; ++k) s += g[k] * g[k];
  return s / den;
}

void Grower::find(const Leaf& l, int f, const double* H, Split& best) const {
  const int S = S_, K = K_;
  const int V = d_.nbins[f] - 1;
  const double* M = H + static_cast<std::size_t>(V) * S;
  double base[66], acc[66], L[66], R[66];
  base[0] = l.cnt;
  base[1] = l.h;
  for (int k = 0; k < K; ++k) base[2 + k] = l.g[k];
  const bool missGain = p_.missingInGain;
  if (!missGain)
    for (int s = 0; s < S; ++s) base[s] -= M[s];
  if (base[0] < 2 * p_.minLeaf) return;
  const double parent = score(base[1], base + 2);
  thread_local std::vector<int> order;
  if (order.size() < static_cast<std::size_t>(V > 0 ? V : 1)) order.resize(V > 0 ? V : 1);
  int no = 0;
  const bool cat = d_.categorical[f] && V <= p_.maxUnorderedLevels;
  const int64_t m = l.end - l.begin;
  if (m * 8 < V) {
    // a small node: its non-empty bins from its rows (sorted), not a scan of every bin
    const int64_t* rows = ws_->rows.data();
    for (int64_t i = l.begin; i < l.end; ++i) {
      const int64_t r = rows[i];
      const int b = d_.rows8 ? d_.rows8[r * d_.p + f] : d_.bin(f, r);
      if (b < V) order[no++] = b;
    }
    std::sort(order.begin(), order.begin() + no);
    no = static_cast<int>(std::unique(order.begin(), order.begin() + no) - order.begin());
    int keep = 0;
    for (int i = 0; i < no; ++i)
      if (H[static_cast<std::size_t>(order[i]) * S] > 0) order[keep++] = order[i];
    no = keep;
  } else {
    for (int b = 0; b < V; ++b)
      if (H[static_cast<std::size_t>(b) * S] > 0) order[no++] = b;
  }
  if (no < 2) return;
  if (cat) {
    std::vector<double> key(V, 0);
    for (int i = 0; i < no; ++i) {
      const double* e = H + static_cast<std::size_t>(order[i]) * S;
      double den = e[1] + (p_.gradient ? p_.lambda : 0);
      key[order[i]] = den > 0 ? e[2] / den : 0;
    }
    std::stable_sort(order.begin(), order.begin() + no, [&](int a, int b) { return key[a] < key[b]; });
  }
  for (int s = 0; s < S; ++s) acc[s] = 0;
  const bool tryMissLeft = missGain && M[0] > 0;
  int bestPos = -1;
  bool bestMissLeft = false;
  double bestGain = best.gain;
  double bestL = 0, bestR = 0;
  double bestLS[66];
  for (int oi = 0; oi + 1 < no; ++oi) {
    const double* e = H + static_cast<std::size_t>(order[oi]) * S;
    for (int s = 0; s < S; ++s) acc[s] += e[s];
    for (int opt = 0; opt < (tryMissLeft ? 2 : 1); ++opt) {
      for (int s = 0; s < S; ++s) {
        L[s] = acc[s] + (opt ? M[s] : 0);
        R[s] = base[s] - L[s];
      }
      if (L[0] < p_.minLeaf || R[0] < p_.minLeaf) continue;
      if (L[1] < p_.minHess || R[1] < p_.minHess) continue;
      double gain = score(L[1], L + 2) + score(R[1], R + 2) - parent;
      if (!p_.featureCost.empty()) gain /= p_.featureCost[f];
      if (gain > bestGain) {
        bestGain = gain;
        bestPos = oi;
        bestMissLeft = opt == 1;
        bestL = L[0];
        bestR = R[0];
        for (int s = 0; s < S; ++s) bestLS[s] = L[s];
      }
    }
  }
  if (bestPos < 0) return;
  best.feature = f;
  best.gain = bestGain;
  best.leftLevels.clear();
  best.leftCnt = bestL;
  best.rightCnt = bestR;
  if (missGain)
    best.leftSums.assign(bestLS, bestLS + S);
  else
    best.leftSums.clear();
  if (cat) {
    best.leftLevels.assign(order.begin(), order.begin() + bestPos + 1);
    std::sort(best.leftLevels.begin(), best.leftLevels.end());
    best.bin = -1;
    best.nextBin = -1;
  } else {
    best.bin = order[bestPos];
    best.nextBin = order[bestPos + 1];
  }
  // rpart without surrogates sends missing rows with the majority
  best.defaultLeft = missGain ? bestMissLeft : bestL >= bestR;
}

std::vector<int> Grower::node_features() {
  if (p_.mTry > 0 && static_cast<std::size_t>(p_.mTry) < treeFeats_.size()) {
    std::vector<int> feats = treeFeats_;
    for (std::size_t i = 0; i < static_cast<std::size_t>(p_.mTry); ++i)
      std::swap(feats[i], feats[i + rng_.below(feats.size() - i)]);
    feats.resize(p_.mTry);
    std::sort(feats.begin(), feats.end());
    return feats;
  }
  return treeFeats_;
}

void Grower::find_all(Leaf& l, const std::vector<int>& feats) {
  Split best;
  for (int f : feats) find(l, f, l.hist->data() + static_cast<std::size_t>(d_.offset[f]) * S_, best);
  l.best = std::move(best);
}

void Grower::clear_touched(const Leaf& l, const std::vector<int>& feats, std::vector<double>& h) const {
  const int S = S_;
  const int64_t m = l.end - l.begin;
  std::size_t bins = 0;
  for (int f : feats) bins += static_cast<std::size_t>(d_.nbins[f]);
  if (static_cast<std::size_t>(m) * feats.size() * 2 >= bins) {
    for (int f : feats) {
      double* H = h.data() + static_cast<std::size_t>(d_.offset[f]) * S;
      std::fill(H, H + static_cast<std::size_t>(d_.nbins[f]) * S, 0.0);
    }
    return;
  }
  const int64_t* rows = ws_->rows.data();
  for (int64_t i = l.begin; i < l.end; ++i) {
    const int64_t r = rows[i];
    for (int f : feats) {
      const int b = d_.rows8 ? d_.rows8[r * d_.p + f] : d_.bin(f, r);
      double* e = h.data() + (static_cast<std::size_t>(d_.offset[f]) + b) * S;
      for (int s = 0; s < S; ++s) e[s] = 0.0;
    }
  }
}

bool Grower::prepare(Leaf& l) {
  l.best = Split();
  if (!may_split(l)) {
    l.hist.reset();
    return false;
  }
  std::vector<int> feats = node_features();
  if (!l.hist) {
    if (p_.mTry > 0) {
      // per-node feature samples: no subtraction, so one scratch histogram serves every node
      // (only the sampled features' bins are cleared and filled)
      // (kept all-zero between nodes: a node clears only the bins its rows touched, so
      // small nodes deep in a tree cost their rows, not the features' bins)
      if (!scratch_) {
        scratch_ = new_hist();
        std::fill(scratch_->begin(), scratch_->end(), 0.0);
      }
      l.hist = scratch_;
      build(l, feats, *l.hist, true);
      find_all(l, feats);
      clear_touched(l, feats, *l.hist);
      if (l.best.feature < 0 || !(l.best.gain > p_.minGain)) {
        l.hist.reset();
        return false;
      }
      return true;
    }
    l.hist = new_hist();
    build(l, feats, *l.hist);
  }
  find_all(l, feats);
  if (l.best.feature < 0 || !(l.best.gain > p_.minGain)) {
    l.hist.reset();
    return false;
  }
  return true;
}

std::pair<Leaf, Leaf> Grower::split(Tree& t, Leaf& l, bool prepareKids) {
  const Split& sp = l.best;
  const int f = sp.feature;
  const int V = d_.nbins[f] - 1;
  const int nd = l.node;
  int ln = t.add_node(K_);
  int rn = t.add_node(K_);
  t.feature[nd] = f;
  t.left[nd] = ln;
  t.right[nd] = rn;
  t.defaultLeft[nd] = sp.defaultLeft ? 1 : 0;
  t.gain[nd] = sp.gain;
  std::vector<uint8_t> catLeft;
  if (!sp.leftLevels.empty()) {
    int words = (V + 31) / 32;
    t.catOffset[nd] = static_cast<int>(t.catBits.size());
    t.catWords[nd] = words;
    t.catBits.resize(t.catBits.size() + words, 0u);
    catLeft.assign(V, 0);
    for (int lv : sp.leftLevels) {
      t.catBits[t.catOffset[nd] + (lv >> 5)] |= (1u << (lv & 31));
      catLeft[lv] = 1;
    }
    t.splitBin[nd] = -1;
    t.threshold[nd] = 0;
  } else {
    t.splitBin[nd] = sp.bin;
    const double* lo = d_.lo + d_.offset[f];
    const double* hi = d_.hi + d_.offset[f];
    int nb = p_.localMidpoint ? sp.nextBin : sp.bin + 1;
    t.threshold[nd] = 0.5 * (hi[sp.bin] + lo[nb]);
  }
  // stable partition
  int64_t nl = 0, nr = 0;
  const int64_t b0 = l.begin, b1 = l.end;
  int64_t* rows = ws_->rows.data();
  int64_t* tmp = ws_->tmp.data();
  if (catLeft.empty() && d_.b8) {
    const uint8_t* col = d_.b8 + static_cast<int64_t>(f) * d_.n;
    const int sb = sp.bin;
    const bool dl = sp.defaultLeft;
    for (int64_t i = b0; i < b1; ++i) {
      const int64_t r = rows[i];
      const int b = col[r];
      const bool goLeft = b == V ? dl : b <= sb;
      rows[b0 + nl] = r;
      tmp[nr] = r;
      nl += goLeft;
      nr += !goLeft;
    }
  } else {
    for (int64_t i = b0; i < b1; ++i) {
      int64_t r = rows[i];
      int b = d_.bin(f, r);
      bool goLeft = b == V ? sp.defaultLeft : (catLeft.empty() ? b <= sp.bin : catLeft[b] != 0);
      if (goLeft)
        rows[b0 + nl++] = r;
      else
        tmp[nr++] = r;
    }
  }
  std::copy(tmp, tmp + nr, rows + b0 + nl);
  Leaf L, R;
  L.node = ln;
  R.node = rn;
  L.begin = b0;
  L.end = b0 + nl;
  R.begin = b0 + nl;
  R.end = b1;
  L.depth = R.depth = l.depth + 1;
  if (p_.missingInGain && static_cast<int>(sp.leftSums.size()) == S_ &&
      (st_.has_cnt() || sp.leftSums[0] == static_cast<double>(nl))) {
    // children totals from the split search (left) and the parent (right): no pass over rows
    const double* ls = sp.leftSums.data();
    L.cnt = ls[0];
    L.h = ls[1];
    L.g.assign(ls + 2, ls + 2 + K_);
    R.cnt = l.cnt - L.cnt;
    R.h = l.h - L.h;
    R.g.resize(K_);
    for (int k = 0; k < K_; ++k) R.g[k] = l.g[k] - L.g[k];
  } else {
    totals(L);
    totals(R);
  }
  set_node(t, L);
  set_node(t, R);
  if (prepareKids) {
    bool canL = may_split(L), canR = may_split(R);
    if (p_.mTry == 0 && l.hist && (canL || canR)) {
      // histogram subtraction: build the smaller child, derive the larger from the parent
      Leaf& small = (L.cnt <= R.cnt) ? L : R;
      Leaf& large = (L.cnt <= R.cnt) ? R : L;
      std::vector<int> feats = treeFeats_;
      small.hist = new_hist();
      build(small, feats, *small.hist);
      large.hist = l.hist;
      l.hist.reset();
      std::vector<double>& P = *large.hist;
      const std::vector<double>& Sh = *small.hist;
      for (int ff : feats) {
        std::size_t o = static_cast<std::size_t>(d_.offset[ff]) * S_, e = o + static_cast<std::size_t>(d_.nbins[ff]) * S_;
        for (std::size_t i = o; i < e; ++i) P[i] -= Sh[i];
      }
      if (canL) find_all(L, feats);
      if (canR) find_all(R, feats);
      if (!canL || L.best.feature < 0 || !(L.best.gain > p_.minGain)) L.hist.reset();
      if (!canR || R.best.feature < 0 || !(R.best.gain > p_.minGain)) R.hist.reset();
    } else {
      l.hist.reset();
      prepare(L);
      prepare(R);
    }
  }
  return {std::move(L), std::move(R)};
}

GrowResult grow_tree(const Data& d, const RowStats& st, const std::vector<int64_t>& rows, const GrowParams& prm,
                     uint64_t seed, GrowWorkspace* ws) {
  if (prm.K < 1 || prm.K > 64) throw Error("RX_ARG", "tree engine supports 1..64 gradient channels");
  GrowResult res;
  Tree& t = res.tree;
  Grower gr(d, st, prm, seed, ws);
  Leaf root = gr.start(rows, t);
  gr.prepare(root);
  const bool bestFirst = prm.maxLeaves > 0;
  std::vector<Leaf> done;
  auto ok = [&](const Leaf& l) { return l.best.feature >= 0 && l.best.gain > prm.minGain; };
  int nLeaves = 1;
  if (bestFirst) {
    auto cmp = [](const Leaf& a, const Leaf& b) {
      if (a.best.gain != b.best.gain) return a.best.gain < b.best.gain;
      return a.node > b.node;
    };
    std::priority_queue<Leaf, std::vector<Leaf>, decltype(cmp)> heap(cmp);
    if (ok(root)) heap.push(std::move(root)); else done.push_back(std::move(root));
    while (!heap.empty() && nLeaves < prm.maxLeaves) {
      Leaf l = heap.top();
      heap.pop();
      auto kids = gr.split(t, l, true);
      ++nLeaves;
      for (Leaf* k : {&kids.first, &kids.second}) {
        if (ok(*k)) heap.push(std::move(*k)); else { k->hist.reset(); done.push_back(std::move(*k)); }
      }
    }
    while (!heap.empty()) {
      done.push_back(heap.top());
      done.back().hist.reset();
      heap.pop();
    }
  } else {
    std::vector<Leaf> stack;
    if (ok(root)) stack.push_back(std::move(root)); else done.push_back(std::move(root));
    while (!stack.empty()) {
      Leaf l = std::move(stack.back());
      stack.pop_back();
      auto kids = gr.split(t, l, true);
      for (Leaf* k : {&kids.second, &kids.first}) {
        if (ok(*k)) stack.push_back(std::move(*k)); else { k->hist.reset(); done.push_back(std::move(*k)); }
      }
    }
  }
  if (ws) {
    ws->leaves.clear();
    for (const Leaf& l : done) ws->leaves.push_back({l.node, l.begin, l.end});
    return res;
  }
  res.rows = gr.rows();
  res.leafOfPos.assign(res.rows.size(), 0);
  for (const Leaf& l : done)
    for (int64_t i = l.begin; i < l.end; ++i) res.leafOfPos[i] = l.node;
  return res;
}

}  // namespace tree
}  // namespace rx
