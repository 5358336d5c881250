// rpart-style classification / regression trees: recursive partitioning with the
// cost-complexity bookkeeping of rpart (cp table, cross-validated risk), competitor
// ("primary") splits and surrogate splits for missing values.
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
  int maxCompete = 0;    // competitor splits kept per node (besides the primary)
  int maxSurrogate = 0;  // surrogate splits kept per node
  int useSurrogate = 2;  // 0 none, 1 surrogates, 2 surrogates then the majority direction
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
  // Splits per node as rpart's `splits` matrix (primary, competitors, surrogates), in rpart's
  // orientation (left = rpart's left child): node i owns splits [splitStart[i], splitStart[i+1]).
  std::vector<int> splitStart, nCompete, nSurrogate;
  std::vector<int> lastDir;        // -1 left, 1 right, 0 none: majority direction (useSurrogate 2)
  std::vector<int> splitVar, splitNcat, splitCount, splitBin, splitCatOffset;
  std::vector<double> splitImprove, splitIndex, splitAdj;
  std::vector<int> catDir;         // factor splits: per level -1 left, 1 right, 0 not present
};

RpartResult train_rpart(const Data& d, const double* y, const double* w, const RpartParams& p);

}  // namespace tree
}  // namespace rx
