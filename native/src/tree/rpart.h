// rpart-style classification / regression trees: recursive partitioning with the
// cost-complexity bookkeeping of rpart (cp table, cross-validated risk).
#pragma once
#include <cstdint>
#include <vector>

#include "tree/engine.h"

namespace rx {
namespace tree {

struct RpartParams {
  int method = 1;  // 0 anova, 1 class
  int numClass = 2;
  int split = 0;   // 0 gini, 1 information
  std::vector<double> prior;  // per class (sums to 1)
  std::vector<double> loss;   // K*K row-major: loss[true*K + predicted]
  int minSplit = 20;
  int minBucket = 7;
  int maxDepth = 30;
  double cp = 0.01;
  int maxUnorderedLevels = 32;
  std::vector<double> cost;  // per variable (empty: all 1)
  const int32_t* xgroups = nullptr;  // 1..nxval per row, or null
  int nxval = 0;
};

struct RpartResult {
  Tree tree;                       // value: anova mean, or class probabilities (K) per node
  std::vector<double> risk, complexity, wt, yval;
  std::vector<int> nobs;
  std::vector<uint8_t> swap;       // rpart's left child is this tree's right child
  std::vector<double> classWt;     // K per node (class method): weighted class counts
  std::vector<double> improve;     // rpart's improvement of the node's split
  std::vector<double> cpTable;     // rows of (cp, nsplit, risk, xrisk, xstd) in raw (unscaled) units
  double rootRisk = 0;
};

RpartResult train_rpart(const Data& d, const double* y, const double* w, const RpartParams& p);

}  // namespace tree
}  // namespace rx
