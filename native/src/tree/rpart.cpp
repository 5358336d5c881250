// rpart-style trees on the binned matrix. Histograms come from the shared grower
// (tree/grow.cpp: ordered statistics, threads); this file adds rpart's node logic: the
// split search with competitors, surrogate splits, routing of rows with a missing
// primary variable (useSurrogate 0/1/2), cost-complexity bookkeeping and x-validation
// (folds grown in parallel). When binning is exact (one value per bin) the candidate
// splits are rpart's, so trees match rpart's.
#include "tree/rpart.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include "common/error.h"
#include "common/threads.h"
#include "tree/grower.h"

namespace rx {
namespace tree {

namespace {

constexpr int kLeft = -1, kRight = 1;
using HistPtr = std::shared_ptr<std::vector<double>>;

struct SplitRec {
  int var = -1;
  int ncat = 0;         // numeric: -1 (x < index goes left) or 1 (goes right); factor: levels
  double improve = 0;   // primary / competitor: improvement; surrogate: agreement
  double index = 0;     // numeric split point
  int bin = -1;         // numeric: last bin of the low side
  double adj = 0;
  int count = 0;
  std::vector<int8_t> dir;  // factor: per level kLeft / kRight / 0
};

struct Node {
  double risk = 0, complexity = 0, wt = 0, yval = 0;
  int nobs = 0;
  std::vector<double> classWt;
  std::vector<SplitRec> primary;    // [0] the split, then competitors
  std::vector<SplitRec> surrogate;
  int lastDir = 0;
  int left = -1, right = -1;        // rpart's children
  bool split = false;
};

// Per fit constants.
struct Shared {
  const Data& d;
  const double* y;
  const double* w;
  const RpartParams& p;
  int K = 1;    // classes (1 for anova)
  int Kh = 1;   // histogram channels: 1 for anova and 2-class gini, else K
  std::vector<double> priorAdj, aprior;
  std::vector<double> g, h;  // per row histogram statistics
  GrowParams gp;
};

// Direction of a training row of the node at a split: bins compare like values there.
inline int split_dir_bin(const Data& d, const SplitRec& s, int64_t r) {
  const int b = d.bin(s.var, r);
  if (b == d.nbins[s.var] - 1) return 0;
  if (!s.dir.empty()) return b < static_cast<int>(s.dir.size()) ? s.dir[b] : 0;
  return b <= s.bin ? s.ncat : -s.ncat;
}

// Direction of row r at a split (kLeft / kRight), 0 when its variable is missing (or the
// factor level was not seen at the node).
inline int split_dir(const Data& d, const SplitRec& s, int64_t r) {
  const int b = d.bin(s.var, r);
  if (b == d.nbins[s.var] - 1) return 0;
  if (!s.dir.empty()) return b < static_cast<int>(s.dir.size()) ? s.dir[b] : 0;
  // by value, not bin: rows of other folds may hold values between the node's two bins
  const int o = d.offset[s.var] + b;
  return 0.5 * (d.lo[o] + d.hi[o]) < s.index ? s.ncat : -s.ncat;
}

// Inserts into a list sorted by decreasing improve holding at most `cap` entries; ties keep
// the earlier entry first (rpart's insert_split).
void insert_split(std::vector<SplitRec>& list, SplitRec&& s, int cap) {
  if (cap <= 0) return;
  if (static_cast<int>(list.size()) >= cap && !(s.improve > list.back().improve)) return;
  auto it = list.begin();
  while (it != list.end() && it->improve >= s.improve) ++it;
  list.insert(it, std::move(s));
  if (static_cast<int>(list.size()) > cap) list.pop_back();
}

class Fit {
 public:
  Fit(const Shared& s, double alpha, bool serial)
      : s_(s), d_(s.d), p_(s.p), gp_(s.gp), alpha_(alpha) {
    gp_.serial = serial;
    st_.g = s.g.data();
    st_.h = s.h.data();
    gr_ = std::make_unique<Grower>(d_, st_, gp_, 1);
    S_ = s.Kh + 2;
  }

  std::vector<Node> nodes;

  void run(const std::vector<int64_t>& rows) {
    Tree scratch;
    gr_->start(rows, scratch);
    tmp_.resize(rows.size());
    dirBuf_.resize(rows.size());
    nodes.assign(1, Node());
    double sumrisk = 0;
    partition(0, 0, static_cast<int64_t>(rows.size()), 0, nullptr, sumrisk, true);
    fix_cp(0, nodes[0].complexity);
  }

  // A row's path from the root: through every split it can be routed past (rows whose
  // split variables are missing and that no surrogate routes stop early, as in rpart).
  // At complexity cp the row stops at the first node whose complexity is <= cp.
  void path(int64_t r, std::vector<int>& out) const {
    out.clear();
    int nd = 0;
    out.push_back(nd);
    while (nodes[nd].split) {
      int dir = route(nodes[nd], r);
      if (dir == 0) break;
      nd = dir == kLeft ? nodes[nd].left : nodes[nd].right;
      out.push_back(nd);
    }
  }

 private:
  const Shared& s_;
  const Data& d_;
  const RpartParams& p_;
  GrowParams gp_;
  RowStats st_;
  std::unique_ptr<Grower> gr_;
  double alpha_;
  double iscale_ = 0;
  int S_ = 3;
  std::vector<int64_t> tmp_;
  std::vector<int8_t> dirBuf_;

  int route(const Node& nd, int64_t r) const {
    int dir = split_dir(d_, nd.primary[0], r);
    if (dir != 0) return dir;
    if (p_.useSurrogate > 0)
      for (const SplitRec& s : nd.surrogate) {
        dir = split_dir(d_, s, r);
        if (dir != 0) return dir;
      }
    if (p_.useSurrogate == 2) return nd.lastDir;
    return 0;
  }

  void fix_cp(int nd, double parent) {
    if (nodes[nd].complexity > parent) nodes[nd].complexity = parent;
    if (nodes[nd].split) {
      double c = nodes[nd].complexity;
      fix_cp(nodes[nd].left, c);
      fix_cp(nodes[nd].right, c);
    }
  }

  // node statistics (rpart's eval) and the histogram totals
  void eval(Node& me, int64_t b, int64_t e, Leaf& l) {
    const int64_t* rows = gr_->rows().data();
    const int K = s_.K, Kh = s_.Kh;
    me.nobs = static_cast<int>(e - b);
    l.begin = b;
    l.end = e;
    l.cnt = static_cast<double>(e - b);
    l.h = 0;
    l.g.assign(Kh, 0);
    me.wt = 0;
    if (p_.method == 1) {
      // one pass: histogram totals and class weights
      me.classWt.assign(K, 0);
      double* cw = me.classWt.data();
      double lh = 0, wt = 0;
      const double *H = s_.h.data(), *G = s_.g.data(), *Y = s_.y, *W = s_.w;
      if (Kh == 1 && K == 2 && !gp_.serial && e - b >= (1 << 17)) {
        // large nodes: per-block partial sums on the thread budget
        const int64_t m = e - b;
        const int64_t nb = 16;
        std::vector<double> part(static_cast<std::size_t>(nb) * 5, 0.0);
        parallel_for(static_cast<std::size_t>(nb), [&](std::size_t q0, std::size_t q1, int) {
          for (std::size_t q = q0; q < q1; ++q) {
            const int64_t i0 = b + m * static_cast<int64_t>(q) / nb, i1 = b + m * static_cast<int64_t>(q + 1) / nb;
            double a0 = 0, a1 = 0, c0 = 0, c1 = 0, ww = 0;
            for (int64_t i = i0; i < i1; ++i) {
              const int64_t r = rows[i];
              a0 += H[r];
              a1 += G[r];
              (Y[r] != 0 ? c1 : c0) += W[r];
              ww += W[r];
            }
            double* o = part.data() + q * 5;
            o[0] = a0;
            o[1] = a1;
            o[2] = c0;
            o[3] = c1;
            o[4] = ww;
          }
        });
        double lg = 0;
        for (int64_t q = 0; q < nb; ++q) {
          const double* o = part.data() + q * 5;
          lh += o[0];
          lg += o[1];
          cw[0] += o[2];
          cw[1] += o[3];
          wt += o[4];
        }
        l.g[0] = lg;
      } else if (Kh == 1) {
        double lg = 0;
        for (int64_t i = b; i < e; ++i) {
          const int64_t r = rows[i];
          lh += H[r];
          lg += G[r];
          cw[static_cast<int>(Y[r])] += W[r];
          wt += W[r];
        }
        l.g[0] = lg;
      } else {
        for (int64_t i = b; i < e; ++i) {
          const int64_t r = rows[i];
          lh += H[r];
          for (int k = 0; k < Kh; ++k) l.g[k] += G[r * Kh + k];
          cw[static_cast<int>(Y[r])] += W[r];
          wt += W[r];
        }
      }
      l.h = lh;
      me.wt = wt;
      int best = 0;
      double dev = 0;
      for (int i = 0; i < K; ++i) {
        double sum = 0;
        for (int j = 0; j < K; ++j) sum += me.classWt[j] * p_.loss[j * K + i] * s_.priorAdj[j];
        if (i == 0 || sum < dev) {
          best = i;
          dev = sum;
        }
      }
      me.yval = best;
      me.risk = dev;
      return;
    }
    for (int64_t i = b; i < e; ++i) {
      int64_t r = rows[i];
      l.h += s_.h[r];
      for (int k = 0; k < Kh; ++k) l.g[k] += s_.g[r * Kh + k];
    }
    if (p_.method == 0) {
      double sw = 0, sy = 0;
      for (int64_t i = b; i < e; ++i) {
        int64_t r = rows[i];
        sw += s_.w[r];
        sy += s_.w[r] * s_.y[r];
      }
      double mean = sw > 0 ? sy / sw : 0, ss = 0;
      for (int64_t i = b; i < e; ++i) {
        int64_t r = rows[i];
        double dv = s_.y[r] - mean;
        ss += s_.w[r] * dv * dv;
      }
      me.wt = sw;
      me.yval = mean;
      me.risk = ss;
      return;
    }
    (void)K;
  }

  // class weights (aprior scaled) of a histogram entry (cnt, h, g...)
  void classes(const double* e, double* c) const {
    if (s_.Kh == 1) {
      c[1] = e[2];
      c[0] = e[1] - e[2];
    } else {
      for (int k = 0; k < s_.K; ++k) c[k] = e[2 + k];
    }
  }
  // rpart's impurity x weight of a class node
  double impurity(const double* e) const {
    double c[66];
    classes(e, c);
    const double h = e[1];
    if (h <= 0) return 0;
    double s = 0;
    if (p_.split == 1) {
      for (int k = 0; k < s_.K; ++k)
        if (c[k] > 0) s -= c[k] * std::log(c[k] / h);
      return s;
    }
    for (int k = 0; k < s_.K; ++k) s += c[k] * c[k];
    return h - s / h;
  }
  double class_mean(const double* e) const {
    double c[66];
    classes(e, c);
    double m = 0;
    for (int k = 0; k < s_.K; ++k) m += k * (e[1] > 0 ? c[k] / e[1] : 0);
    return m;
  }

  // best_of for an ordered variable with one histogram channel (anova, 2-class gini): one
  // pass over the bins, the same arithmetic as the general path
  bool best_numeric_k1(int f, const double* H, int V, const double* base, double nodeRisk, SplitRec& out,
                       double& rawImprove) const {
    const bool anova = p_.method == 0;
    const double mb = p_.minBucket;
    const double meanB = anova && base[1] > 0 ? base[2] / base[1] : 0;
    auto imp = [](double h, double g) {
      if (h <= 0) return 0.0;
      const double c0 = h - g, c1 = g;
      double sq = 0;
      sq += c0 * c0;
      sq += c1 * c1;
      return h - sq / h;
    };
    const double parentImp = anova ? 0 : imp(base[1], base[2]);
    double aC = 0, aH = 0, aG = 0;
    int prev = -1, bestBin = -1, bestNext = -1, bestDir = kLeft;
    double best = 0;
    for (int b = 0; b < V; ++b) {
      const double* e = H + static_cast<std::size_t>(b) * 3;
      if (!(e[0] > 0)) continue;
      if (prev >= 0) {
        const double rC = base[0] - aC, rH = base[1] - aH, rG = base[2] - aG;
        if (aC >= mb && rC >= mb) {
          double val;
          int dir;
          bool ok = true;
          if (anova) {
            if (aH <= 0 || rH <= 0) ok = false;
            const double ls = aG - aH * meanB;
            val = ok ? ls * ls / aH + ls * ls / rH : 0;
            dir = ls < -ls ? kLeft : kRight;
          } else {
            val = parentImp - imp(aH, aG) - imp(rH, rG);
            const double ml = aH > 0 ? aG / aH : 0, mr = rH > 0 ? rG / rH : 0;
            dir = ml < mr ? kLeft : kRight;
          }
          if (ok && val > best) {
            best = val;
            bestBin = prev;
            bestNext = b;
            bestDir = dir;
          }
        }
      }
      aC += e[0];
      aH += e[1];
      aG += e[2];
      prev = b;
    }
    if (bestBin < 0) return false;
    rawImprove = anova ? best / nodeRisk : best;
    out = SplitRec();
    out.var = f;
    out.count = static_cast<int>(base[0]);
    out.ncat = bestDir;
    out.bin = bestBin;
    out.index = 0.5 * (d_.hi[d_.offset[f] + bestBin] + d_.lo[d_.offset[f] + bestNext]);
    return true;
  }

  // rpart's best split of one variable from its histogram; false when none
  bool best_of(int f, const double* H, const Leaf& l, double nodeRisk, SplitRec& out, double& rawImprove) const {
    const int S = S_;
    const int V = d_.nbins[f] - 1;
    if (V < 2) return false;
    const double* M = H + static_cast<std::size_t>(V) * S;
    double base[66], acc[66], R[66];
    base[0] = l.cnt - M[0];
    base[1] = l.h - M[1];
    for (int k = 0; k < s_.Kh; ++k) base[2 + k] = l.g[k] - M[2 + k];
    const double mb = p_.minBucket;
    if (base[0] < 2 * mb) return false;
    const bool anova0 = p_.method == 0;
    if (!(d_.categorical[f] && V <= p_.maxUnorderedLevels) && s_.Kh == 1 && (anova0 || p_.split == 0))
      return best_numeric_k1(f, H, V, base, nodeRisk, out, rawImprove);
    std::vector<int> order;
    order.reserve(V);
    for (int b = 0; b < V; ++b)
      if (H[static_cast<std::size_t>(b) * S] > 0) order.push_back(b);
    const int no = static_cast<int>(order.size());
    if (no < 2) return false;
    const bool cat = d_.categorical[f] && V <= p_.maxUnorderedLevels;
    if (cat) {
      std::vector<double> key(V, 0);
      for (int b : order) {
        const double* e = H + static_cast<std::size_t>(b) * S;
        key[b] = e[1] > 0 ? (p_.method == 0 || s_.Kh == 1 ? e[2] / e[1] : class_mean(e)) : 0;
      }
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key[a] < key[b]; });
    }
    const bool anova = p_.method == 0;
    const double meanB = anova && base[1] > 0 ? base[2] / base[1] : 0;
    const double parentImp = anova ? 0 : impurity(base);
    for (int s = 0; s < S; ++s) acc[s] = 0;
    int bestPos = -1;
    double best = 0;
    int bestDir = kLeft;
    for (int oi = 0; oi + 1 < no; ++oi) {
      const double* e = H + static_cast<std::size_t>(order[oi]) * S;
      for (int s = 0; s < S; ++s) acc[s] += e[s];
      for (int s = 0; s < S; ++s) R[s] = base[s] - acc[s];
      if (acc[0] < mb || R[0] < mb) continue;
      double val;
      int dir;
      if (anova) {
        if (acc[1] <= 0 || R[1] <= 0) continue;
        double ls = acc[2] - acc[1] * meanB;  // centred left sum
        val = ls * ls / acc[1] + ls * ls / R[1];
        dir = ls < -ls ? kLeft : kRight;
      } else {
        val = parentImp - impurity(acc) - impurity(R);
        dir = class_mean(acc) < class_mean(R) ? kLeft : kRight;
      }
      if (val > best) {
        best = val;
        bestPos = oi;
        bestDir = dir;
      }
    }
    if (bestPos < 0) return false;
    rawImprove = anova ? best / nodeRisk : best;
    out = SplitRec();
    out.var = f;
    out.count = static_cast<int>(base[0]);
    if (cat) {
      out.ncat = V;
      out.dir.assign(V, 0);
      for (int i = 0; i < no; ++i) out.dir[order[i]] = static_cast<int8_t>(i <= bestPos ? bestDir : -bestDir);
    } else {
      out.ncat = bestDir;
      out.bin = order[bestPos];
      out.index = 0.5 * (d_.hi[d_.offset[f] + order[bestPos]] + d_.lo[d_.offset[f] + order[bestPos + 1]]);
    }
    return true;
  }

  // surrogate splits of node `me` (rows [b, e), primary directions in dirBuf_)
  void surrogates(Node& me, int64_t b, int64_t e) {
    const int64_t* rows = gr_->rows().data();
    const int pv = me.primary[0].var;
    double lcount = 0, rcount = 0;
    for (int64_t i = b; i < e; ++i) {
      int dir = dirBuf_[i - b];
      if (dir == kLeft) lcount += s_.w[rows[i]];
      if (dir == kRight) rcount += s_.w[rows[i]];
    }
    me.lastDir = lcount < rcount ? kRight : (lcount > rcount ? kLeft : 0);
    if (p_.maxSurrogate <= 0) return;
    const double total = lcount + rcount;
    const double majority = std::max(lcount, rcount);
    const int p = d_.p;
    std::vector<SplitRec> cand(p);
    std::vector<uint8_t> ok(p, 0);
    auto one = [&](int f) {
      const int V = d_.nbins[f] - 1;
      if (f == pv || V < 1) return;
      // per bin: weight sent left / right by the primary, rows
      // (rows whose primary is missing still place candidate cut points, as in rpart)
      std::vector<double> wl(V, 0), wr(V, 0), cn(V, 0);
      std::vector<uint8_t> seen(V, 0);
      for (int64_t i = b; i < e; ++i) {
        int dir = dirBuf_[i - b];
        int64_t r = rows[i];
        int bb = d_.bin(f, r);
        if (bb == V) continue;
        seen[bb] = 1;
        if (dir == 0) continue;
        (dir == kLeft ? wl : wr)[bb] += s_.w[r];
        cn[bb] += 1;
      }
      SplitRec s;
      s.var = f;
      double agree = 0;
      if (d_.categorical[f]) {
        s.ncat = V;
        s.dir.assign(V, 0);
        for (int k = 0; k < V; ++k) {
          if (cn[k] == 0) continue;
          if (wl[k] > wr[k]) {
            s.dir[k] = kLeft;
            agree += wl[k];
          } else if (wr[k] > wl[k]) {
            s.dir[k] = kRight;
            agree += wr[k];
          } else {
            s.dir[k] = static_cast<int8_t>(me.lastDir != 0 ? me.lastDir : kLeft);
            agree += wl[k];
          }
        }
      } else {
        double WL = 0, WR = 0, CN = 0;
        for (int k = 0; k < V; ++k) {
          WL += wl[k];
          WR += wr[k];
          CN += cn[k];
        }
        double al = 0, ar = 0, cnt = 0;
        int prev = -1;
        int bestBin = -1, bestNext = -1, bestDir = 0;
        double best = 0;
        for (int k = 0; k < V; ++k) {
          if (!seen[k]) continue;
          if (prev >= 0 && cnt >= 2 && CN - cnt >= 2) {
            double aL = al + (WR - ar), aR = ar + (WL - al);
            if (aL > best || aR > best) {
              best = std::max(aL, aR);
              bestDir = aL >= aR ? kLeft : kRight;
              bestBin = prev;
              bestNext = k;
            }
          }
          al += wl[k];
          ar += wr[k];
          cnt += cn[k];
          prev = k;
        }
        if (bestBin < 0) return;
        agree = best;
        s.ncat = bestDir;
        s.bin = bestBin;
        s.index = 0.5 * (d_.hi[d_.offset[f] + bestBin] + d_.lo[d_.offset[f] + bestNext]);
      }
      if (!(total > 0)) return;
      s.improve = agree / total;
      s.adj = total > majority ? (agree - majority) / (total - majority) : 0;
      if (s.adj <= 1e-10) return;
      cand[f] = std::move(s);
      ok[f] = 1;
    };
    if (gp_.serial || (e - b) * p < (1 << 16))
      for (int f = 0; f < p; ++f) one(f);
    else
      parallel_for(static_cast<std::size_t>(p), [&](std::size_t fb, std::size_t fe, int) {
        for (std::size_t f = fb; f < fe; ++f) one(static_cast<int>(f));
      });
    for (int f = 0; f < p; ++f)
      if (ok[f]) insert_split(me.surrogate, std::move(cand[f]), p_.maxSurrogate);
  }

  // subtracts rows' statistics from a histogram
  void subtract_rows(std::vector<double>& H, int64_t b, int64_t e) const {
    const int64_t* rows = gr_->rows().data();
    const int S = S_, Kh = s_.Kh;
    for (int64_t i = b; i < e; ++i) {
      int64_t r = rows[i];
      for (int f = 0; f < d_.p; ++f) {
        double* en = H.data() + static_cast<std::size_t>(d_.offset[f] + d_.bin(f, r)) * S;
        en[0] -= 1;
        en[1] -= s_.h[r];
        for (int k = 0; k < Kh; ++k) en[2 + k] -= s_.g[r * Kh + k];
      }
    }
  }

  bool may_split(int n, int depth) const {
    return n >= p_.minSplit && n >= 2 * p_.minBucket && depth < p_.maxDepth;
  }

  // histogram of a child from scratch through the shared grower (null when it cannot split)
  HistPtr build(Leaf& l) {
    l.hist.reset();
    if (!gr_->prepare(l)) return nullptr;
    return std::move(l.hist);
  }

  int partition(int nd, int64_t b, int64_t e, int depth, HistPtr hist, double& sumrisk, bool isRoot, Leaf* pre = nullptr) {
    Leaf l;
    if (pre) {
      l = std::move(*pre);  // node statistics and totals already computed (eval)
    } else {
      eval(nodes[nd], b, e, l);
    }
    l.depth = depth;
    double tempcp = isRoot ? nodes[nd].risk : std::min(nodes[nd].risk, nodes[nd].complexity);
    auto make_leaf = [&]() {
      nodes[nd].complexity = alpha_;
      nodes[nd].split = false;
      sumrisk = nodes[nd].risk;
      return 0;
    };
    if (nodes[nd].nobs < p_.minSplit || tempcp <= alpha_ || !may_split(nodes[nd].nobs, depth)) return make_leaf();
    if (!hist) {
      hist = build(l);
      if (!hist) return make_leaf();
    }
    // split search: every variable's best split, the best maxCompete + 1 kept
    {
      std::vector<SplitRec> list;
      const double* H = hist->data();
      for (int f = 0; f < d_.p; ++f) {
        SplitRec s;
        double raw = 0;
        if (!best_of(f, H + static_cast<std::size_t>(d_.offset[f]) * S_, l, nodes[nd].risk, s, raw)) continue;
        if (raw > iscale_) iscale_ = raw;
        if (!(raw > iscale_ * 1e-10)) continue;
        s.improve = p_.cost.empty() ? raw : raw / p_.cost[f];
        insert_split(list, std::move(s), p_.maxCompete + 1);
      }
      if (list.empty()) return make_leaf();
      nodes[nd].primary = std::move(list);
    }
    // primary directions, surrogates, routing: [left | right | remaining]
    int64_t* rows = gr_->rows().data();
    const SplitRec& P = nodes[nd].primary[0];
    if (!gp_.serial && e - b >= (1 << 17))
      parallel_for(
          static_cast<std::size_t>(e - b),
          [&](std::size_t i0, std::size_t i1, int) {
            for (std::size_t i = i0; i < i1; ++i) dirBuf_[i] = static_cast<int8_t>(split_dir_bin(d_, P, rows[b + static_cast<int64_t>(i)]));
          },
          1 << 15);
    else
      for (int64_t i = b; i < e; ++i) dirBuf_[i - b] = static_cast<int8_t>(split_dir_bin(d_, P, rows[i]));
    nodes[nd].surrogate.clear();
    nodes[nd].lastDir = 0;
    if (p_.maxSurrogate > 0) surrogates(nodes[nd], b, e);
    Node& me = nodes[nd];
    int64_t nl = 0, nr = 0, nrem = 0;
    std::vector<int64_t> rem;
    for (int64_t i = b; i < e; ++i) {
      int64_t r = rows[i];
      int dir = dirBuf_[i - b];
      if (dir == 0 && p_.useSurrogate > 0) {
        for (SplitRec& s : me.surrogate) {
          dir = split_dir_bin(d_, s, r);
          if (dir != 0) {
            s.count++;
            break;
          }
        }
        if (dir == 0 && p_.useSurrogate == 2) dir = me.lastDir;
      }
      if (dir == kLeft)
        rows[b + nl++] = r;
      else if (dir == kRight)
        tmp_[nr++] = r;
      else
        rem.push_back(r);
    }
    std::copy(tmp_.begin(), tmp_.begin() + nr, rows + b + nl);
    std::copy(rem.begin(), rem.end(), rows + b + nl + nr);
    nrem = static_cast<int64_t>(rem.size());
    if (nl == 0 || nr == 0) {
      // cannot happen with minBucket >= 1, kept as a guard
      nodes[nd].primary.clear();
      nodes[nd].surrogate.clear();
      return make_leaf();
    }
    nodes[nd].split = true;
    const int L = static_cast<int>(nodes.size());
    const int R = L + 1;
    nodes.emplace_back();
    nodes.emplace_back();
    nodes[nd].left = L;
    nodes[nd].right = R;
    // children histograms: the smaller built, the larger = parent - smaller - remaining
    HistPtr hl, hr;
    Leaf smallLeaf;
    int smallEvaluated = 0;  // 1: left child evaluated, 2: right
    {
      const bool canL = may_split(static_cast<int>(nl), depth + 1), canR = may_split(static_cast<int>(nr), depth + 1);
      const bool leftSmall = nl <= nr;
      const bool canS = leftSmall ? canL : canR, canG = leftSmall ? canR : canL;
      const int64_t sb = leftSmall ? b : b + nl, se = leftSmall ? b + nl : b + nl + nr;
      const int64_t gb = leftSmall ? b + nl : b, ge = leftSmall ? b + nl + nr : b + nl;
      HistPtr hs, hg;
      if (canS) {
        smallLeaf.depth = depth + 1;
        eval(nodes[leftSmall ? L : R], sb, se, smallLeaf);
        smallEvaluated = leftSmall ? 1 : 2;
        hs = build(smallLeaf);
      }
      if (canG) {
        hg = std::move(hist);
        if (hs) {
          std::vector<double>& Pv = *hg;
          const std::vector<double>& Sv = *hs;
          for (std::size_t i = 0; i < Pv.size(); ++i) Pv[i] -= Sv[i];
        } else {
          subtract_rows(*hg, sb, se);
        }
        subtract_rows(*hg, b + nl + nr, b + nl + nr + nrem);
        (void)gb;
        (void)ge;
      }
      hist.reset();
      hl = leftSmall ? hs : hg;
      hr = leftSmall ? hg : hs;
    }
    double leftRisk = 0, rightRisk = 0;
    nodes[L].complexity = tempcp - alpha_;
    int leftSplit = partition(L, b, b + nl, depth + 1, std::move(hl), leftRisk, false, smallEvaluated == 1 ? &smallLeaf : nullptr);
    double myRisk = nodes[nd].risk, myCp = nodes[nd].complexity;
    if (isRoot) myCp = myRisk;
    tempcp = (myRisk - leftRisk) / (leftSplit + 1);
    double tempcp2 = myRisk - nodes[L].risk;
    if (tempcp < tempcp2) tempcp = tempcp2;
    if (tempcp > myCp) tempcp = myCp;
    nodes[R].complexity = tempcp - alpha_;
    int rightSplit = partition(R, b + nl, b + nl + nr, depth + 1, std::move(hr), rightRisk, false, smallEvaluated == 2 ? &smallLeaf : nullptr);
    double lc = nodes[L].complexity, rc = nodes[R].complexity;
    tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
    if (rc > lc) {
      if (tempcp > lc) {
        leftRisk = nodes[L].risk;
        leftSplit = 0;
        tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
        if (tempcp > rc) {
          rightRisk = nodes[R].risk;
          rightSplit = 0;
        }
      }
    } else if (tempcp > rc) {
      rightSplit = 0;
      rightRisk = nodes[R].risk;
      tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
      if (tempcp > lc) {
        leftRisk = nodes[L].risk;
        leftSplit = 0;
      }
    }
    tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
    if (tempcp <= alpha_) {
      nodes[nd].split = false;  // collapse: the subtree becomes unreachable
      nodes[nd].primary.clear();
      nodes[nd].surrogate.clear();
      sumrisk = myRisk;
      nodes[nd].complexity = alpha_;
      return 0;
    }
    nodes[nd].complexity = tempcp;
    sumrisk = leftRisk + rightRisk;
    return leftSplit + rightSplit + 1;
  }
};

}  // namespace

RpartResult train_rpart(const Data& d, const double* y, const double* w, const RpartParams& p) {
  const int64_t n = d.n;
  Shared s{d, y, w, p, 1, 1, {}, {}, {}, {}, {}};
  s.K = p.method == 0 ? 1 : p.numClass;
  const int K = s.K;
  if (p.method == 1 && K > 64) throw Error("RX_ARG", "rxDTree supports at most 64 classes");
  s.Kh = (p.method == 0 || (K == 2 && p.split == 0)) ? 1 : K;
  const int Kh = s.Kh;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i)
    if (w[i] > 0) rows.push_back(i);
  if (rows.empty()) throw Error("RX_ARG", "rxDTree: no rows with positive weight");
  s.g.assign(static_cast<std::size_t>(n) * Kh, 0);
  s.h.assign(n, 0);
  if (p.method == 1) {
    std::vector<double> freq(K, 0);
    double tot = 0;
    for (int64_t r : rows) {
      freq[static_cast<int>(y[r])] += w[r];
      tot += w[r];
    }
    for (int k = 0; k < K; ++k) freq[k] /= tot;
    s.priorAdj.assign(K, 0);
    s.aprior.assign(K, 0);
    double temp = 0;
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        temp += p.loss[i * K + j] * p.prior[i];
        s.aprior[i] += p.loss[i * K + j] * p.prior[i];
      }
    for (int i = 0; i < K; ++i) {
      s.priorAdj[i] = freq[i] > 0 ? p.prior[i] / freq[i] : 0;
      s.aprior[i] = freq[i] > 0 ? s.aprior[i] / (temp * freq[i]) : 0;
    }
    for (int64_t r : rows) {
      int k = static_cast<int>(y[r]);
      double a = s.aprior[k] * w[r];
      if (Kh == 1)
        s.g[r] = k == 1 ? a : 0;
      else
        s.g[r * Kh + k] = a;
      s.h[r] = a;
    }
  } else {
    for (int64_t r : rows) {
      s.g[r] = w[r] * y[r];
      s.h[r] = w[r];
    }
  }
  GrowParams& gp = s.gp;
  gp.K = Kh;
  gp.maxDepth = p.maxDepth;
  gp.minLeaf = p.minBucket;
  gp.minSplit = p.minSplit;
  gp.minGain = 0;
  gp.lambda = 0;
  gp.criterion = (p.method == 1 && p.split == 1) ? kEntropy : kSumSq;
  gp.gradient = false;
  gp.localMidpoint = true;
  gp.missingInGain = false;
  gp.maxUnorderedLevels = p.maxUnorderedLevels;
  gp.featureCost = p.cost;

  // root risk -> alpha
  double rootRisk;
  {
    if (p.method == 0) {
      double sw = 0, sy = 0, ss = 0;
      for (int64_t r : rows) {
        sw += w[r];
        sy += w[r] * y[r];
      }
      double mean = sy / sw;
      for (int64_t r : rows) ss += w[r] * (y[r] - mean) * (y[r] - mean);
      rootRisk = ss;
    } else {
      std::vector<double> cw(K, 0);
      for (int64_t r : rows) cw[static_cast<int>(y[r])] += w[r];
      rootRisk = 0;
      for (int i = 0; i < K; ++i) {
        double sum = 0;
        for (int j = 0; j < K; ++j) sum += cw[j] * p.loss[j * K + i] * s.priorAdj[j];
        if (i == 0 || sum < rootRisk) rootRisk = sum;
      }
    }
  }
  const double alpha = p.cp * rootRisk;
  Fit full(s, alpha, false);
  full.run(rows);
  const std::vector<Node>& nodes = full.nodes;
  RpartResult res;
  res.rootRisk = nodes[0].risk;
  // cp list: unique complexities (clamped at alpha), descending
  std::vector<double> cps{nodes[0].complexity};
  std::function<void(int, double)> collect = [&](int nd, double parent) {
    double me = std::max(nodes[nd].complexity, alpha);
    if (nodes[nd].split) {
      collect(nodes[nd].left, me);
      collect(nodes[nd].right, me);
    }
    if (me < parent && std::find(cps.begin(), cps.end(), me) == cps.end()) cps.push_back(me);
  };
  if (nodes[0].split) {
    collect(nodes[0].left, nodes[0].complexity);
    collect(nodes[0].right, nodes[0].complexity);
  }
  std::sort(cps.begin(), cps.end(), std::greater<double>());
  const std::size_t m = cps.size();
  std::vector<double> risk(m, 0), xrisk(m, 0), xstd(m, 0);
  std::vector<int> nsplit(m, 0);
  for (std::size_t j = 0; j < m; ++j) {
    double cpv = cps[j];
    std::function<void(int)> walk = [&](int nd) {
      if (nodes[nd].split && nodes[nd].complexity > cpv) {
        nsplit[j] += 1;
        walk(nodes[nd].left);
        walk(nodes[nd].right);
      } else {
        risk[j] += nodes[nd].risk;
      }
    };
    walk(0);
  }
  // cross-validation: folds grown in parallel (one thread each)
  if (p.xgroups && p.nxval > 1 && m > 0) {
    std::vector<double> cpx(m);
    cpx[0] = 10 * cps[0];
    for (std::size_t j = 1; j < m; ++j) cpx[j] = std::sqrt(cps[j - 1] * cps[j]);
    double totalWt = 0;
    for (int64_t r : rows) totalWt += w[r];
    const int V = p.nxval;
    std::vector<std::vector<double>> fr(V, std::vector<double>(m, 0)), fs(V, std::vector<double>(m, 0));
    parallel_for(static_cast<std::size_t>(V), [&](std::size_t gb, std::size_t ge, int) {
      for (std::size_t gi = gb; gi < ge; ++gi) {
        const int grp = static_cast<int>(gi) + 1;
        std::vector<int64_t> train, test;
        double trainWt = 0;
        for (int64_t r : rows) {
          if (p.xgroups[r] == grp)
            test.push_back(r);
          else {
            train.push_back(r);
            trainWt += w[r];
          }
        }
        if (train.empty() || test.empty()) continue;
        const double scale = trainWt / totalWt;
        Fit xt(s, alpha * scale, V > 1);
        xt.run(train);
        // thresholds cpx[j] * scale decrease with j, so a row's stop node moves down its
        // path: each path node covers a range of j (difference arrays, O(depth log m) a row)
        std::vector<double> th(m);
        for (std::size_t j = 0; j < m; ++j) th[j] = cpx[j] * scale;
        std::vector<double> dr(m + 1, 0), ds(m + 1, 0);
        std::vector<int> pth;
        for (int64_t r : test) {
          xt.path(r, pth);
          std::size_t j = 0;
          for (std::size_t k = 0; k < pth.size() && j < m; ++k) {
            const Node& nk = xt.nodes[pth[k]];
            // rows stop here for every j with th[j] >= complexity (or at the path's end)
            std::size_t jn = m;
            if (k + 1 < pth.size()) {
              const double c = nk.complexity;
              jn = static_cast<std::size_t>(std::upper_bound(th.begin() + j, th.end(), c, std::greater<double>()) - th.begin());
              // th[j..jn) >= c: stop at this node; from jn on, th < c: continue
              jn = std::max(jn, j);
            }
            if (jn == j) continue;
            double err;
            if (p.method == 0) {
              double e = y[r] - nk.yval;
              err = e * e;
            } else {
              int yt = static_cast<int>(y[r]), yp = static_cast<int>(nk.yval);
              err = s.priorAdj[yt] * p.loss[yt * K + yp];
            }
            dr[j] += err * w[r];
            dr[jn] -= err * w[r];
            ds[j] += err * err * w[r];
            ds[jn] -= err * err * w[r];
            j = jn;
          }
        }
        double a = 0, b2 = 0;
        for (std::size_t j = 0; j < m; ++j) {
          a += dr[j];
          b2 += ds[j];
          fr[gi][j] = a;
          fs[gi][j] = b2;
        }
      }
    });
    for (int gi = 0; gi < V; ++gi)
      for (std::size_t j = 0; j < m; ++j) {
        xrisk[j] += fr[gi][j];
        xstd[j] += fs[gi][j];
      }
    for (std::size_t j = 0; j < m; ++j) xstd[j] = std::sqrt(std::max(0.0, xstd[j] - xrisk[j] * xrisk[j] / totalWt));
  } else {
    for (std::size_t j = 0; j < m; ++j) xrisk[j] = xstd[j] = NAN;
  }
  for (std::size_t j = 0; j < m; ++j) {
    res.cpTable.push_back(cps[j]);
    res.cpTable.push_back(nsplit[j]);
    res.cpTable.push_back(risk[j]);
    res.cpTable.push_back(xrisk[j]);
    res.cpTable.push_back(xstd[j]);
  }
  // the reachable tree, preorder with rpart's left child first
  Tree& O = res.tree;
  auto push_split = [&](const SplitRec& sp, bool isSurrogate) {
    res.splitVar.push_back(sp.var);
    res.splitNcat.push_back(sp.ncat);
    res.splitImprove.push_back(sp.improve);
    res.splitIndex.push_back(sp.dir.empty() ? sp.index : 0);
    res.splitCount.push_back(sp.count);
    res.splitAdj.push_back(isSurrogate ? sp.adj : 0);
    res.splitBin.push_back(sp.bin);
    if (sp.dir.empty()) {
      res.splitCatOffset.push_back(-1);
    } else {
      res.splitCatOffset.push_back(static_cast<int>(res.catDir.size()));
      for (int8_t v : sp.dir) res.catDir.push_back(v);
    }
  };
  std::function<int(int)> copy = [&](int nd) -> int {
    int id = O.add_node(K);
    const Node& in = nodes[nd];
    O.cover[id] = in.wt;
    O.count[id] = in.nobs;
    if (p.method == 0) {
      O.value[id] = in.yval;
    } else {
      double tot = 0;
      for (int k = 0; k < K; ++k) tot += in.classWt[k];
      for (int k = 0; k < K; ++k) O.value[static_cast<std::size_t>(id) * K + k] = tot > 0 ? in.classWt[k] / tot : 0;
      for (int k = 0; k < K; ++k) res.classWt.push_back(in.classWt[k]);
    }
    res.risk.push_back(in.risk);
    res.complexity.push_back(in.complexity);
    res.wt.push_back(in.wt);
    res.yval.push_back(in.yval);
    res.nobs.push_back(in.nobs);
    res.improve.push_back(in.split ? in.primary[0].improve : 0);
    res.splitStart.push_back(static_cast<int>(res.splitVar.size()));
    res.nCompete.push_back(in.split ? static_cast<int>(in.primary.size()) - 1 : 0);
    res.nSurrogate.push_back(in.split ? static_cast<int>(in.surrogate.size()) : 0);
    res.lastDir.push_back(in.split ? in.lastDir : 0);
    bool swap = false;
    if (in.split) {
      for (const SplitRec& sp : in.primary) push_split(sp, false);
      for (const SplitRec& sp : in.surrogate) push_split(sp, true);
      const SplitRec& P = in.primary[0];
      O.feature[id] = P.var;
      O.gain[id] = P.improve;
      if (!P.dir.empty()) {
        const int V = static_cast<int>(P.dir.size());
        const int words = (V + 31) / 32;
        O.catOffset[id] = static_cast<int>(O.catBits.size());
        O.catWords[id] = words;
        O.catBits.resize(O.catBits.size() + words, 0u);
        // levels absent from the node's rows have no direction: rpart treats them as
        // missing (the majority side), which the flat tree encodes in the level set
        const bool majorityLeft = nodes[in.left].nobs >= nodes[in.right].nobs;
        for (int lv = 0; lv < V; ++lv)
          if (P.dir[lv] == kLeft || (P.dir[lv] == 0 && majorityLeft)) O.catBits[O.catOffset[id] + (lv >> 5)] |= (1u << (lv & 31));
      } else {
        O.splitBin[id] = P.bin;
        // rpart sends x < index one way and x >= index the other; the flat tree (native
        // scorer, ONNX BRANCH_LEQ) tests x <= threshold, so the threshold is the largest
        // double below index: the same decision for every x, ties at index included.
        O.threshold[id] = std::nextafter(P.index, -std::numeric_limits<double>::infinity());
        swap = P.ncat == kRight;
      }
    }
    res.swap.push_back(swap ? 1 : 0);
    if (in.split) {
      int ca = copy(in.left);
      int cb = copy(in.right);
      O.left[id] = swap ? cb : ca;
      O.right[id] = swap ? ca : cb;
      // rows whose split variables are all missing: the child with more rows (rpart's predict)
      int nL = nodes[in.left].nobs, nR = nodes[in.right].nobs;
      bool toRpartLeft = nL >= nR;
      O.defaultLeft[id] = (toRpartLeft != swap) ? 1 : 0;
    }
    return id;
  };
  copy(0);
  res.splitStart.push_back(static_cast<int>(res.splitVar.size()));
  return res;
}

}  // namespace tree
}  // namespace rx
