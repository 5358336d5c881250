// The node-level grower API: histograms (with subtraction), split search, row partition.
// grow_tree drives it best-first / depth-first; rpart.cpp drives it with rpart's
// recursive cost-complexity logic.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "tree/engine.h"

namespace rx {
namespace tree {

struct Split {
  int feature = -1;
  int bin = -1;       // numeric: bins <= bin go left
  int nextBin = -1;   // next non-empty bin in the node (for local midpoints)
  bool defaultLeft = false;
  double gain = -1e300;
  double leftCnt = 0, rightCnt = 0;
  std::vector<double> leftSums;  // (cnt, h, g[K]) of the left child (missing-in-gain searches)
  std::vector<int> leftLevels;   // categorical
};

struct Leaf {
  int node = 0;
  int64_t begin = 0, end = 0;
  int depth = 0;
  double cnt = 0, h = 0;
  std::vector<double> g;
  std::shared_ptr<std::vector<double>> hist;
  Split best;
};

class Grower {
 public:
  // `ws` (optional) holds the row and histogram buffers across trees (no per-tree allocation)
  Grower(const Data& d, const RowStats& st, const GrowParams& p, uint64_t seed, GrowWorkspace* ws = nullptr);
  // Takes the rows to grow on (copied; permuted in place as nodes split).
  Leaf start(const std::vector<int64_t>& rows, Tree& t);
  // Histograms (if needed) + best split; returns true when the leaf has a valid split.
  bool prepare(Leaf& l);
  // Applies l.best: fills the node, partitions rows, returns the two children with
  // their totals; children histograms are prepared (subtraction when possible) when
  // `prepareKids` is set.
  std::pair<Leaf, Leaf> split(Tree& t, Leaf& l, bool prepareKids);
  bool may_split(const Leaf& l) const;
  const std::vector<int64_t>& rows() const { return ws_->rows; }
  std::vector<int64_t>& rows() { return ws_->rows; }
  void set_node(Tree& t, const Leaf& l) const;

 private:
  const Data& d_;
  const RowStats& st_;
  const GrowParams& p_;
  int K_, S_;
  Rng rng_;
  std::unique_ptr<GrowWorkspace> own_;
  GrowWorkspace* ws_;
  std::vector<int> treeFeats_;
  std::shared_ptr<std::vector<double>> scratch_;  // reused histogram when nodes sample features (mTry)

  double rowCnt(int64_t r) const {
    return st_.cnt ? st_.cnt[r] : (st_.packed && st_.packedCnt ? st_.packed[r * 3 + 2] : 1.0);
  }
  void totals(Leaf& l) const;
  std::shared_ptr<std::vector<double>> new_hist();
  // zeroed: the features' bins are already zero (not cleared again)
  void build(const Leaf& l, const std::vector<int>& feats, std::vector<double>& h, bool zeroed = false);
  void clear_touched(const Leaf& l, const std::vector<int>& feats, std::vector<double>& h) const;
  double score(double h, const double* g) const;
  void find(const Leaf& l, int f, const double* H, Split& best) const;
  void find_all(Leaf& l, const std::vector<int>& feats);
  std::vector<int> node_features();
};

}  // namespace tree
}  // namespace rx
