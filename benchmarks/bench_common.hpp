// Shared pieces of the benchmarks: the data set, the workloads' inputs,
// checksums, timing and the markdown report. Independent of any database.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace bench {

// One row of items(id, name, qty, price, created_at). Libraries map their
// rows into this struct (Tessera declares it as a model).
struct Item {
  std::int64_t id{};
  std::string name;
  std::int32_t qty{};
  double price{};
  std::int64_t created_at{};
};

// What one row contributes to a checksum; order-independent when summed.
inline std::uint64_t row_sum(std::int64_t id, std::int32_t qty, double price,
                             std::int64_t created_at, std::size_t name_len) {
  return static_cast<std::uint64_t>(id) * 31u + static_cast<std::uint64_t>(qty) +
         static_cast<std::uint64_t>(static_cast<std::int64_t>(price)) +
         static_cast<std::uint64_t>(created_at % 1000003) + name_len;
}
inline std::uint64_t row_sum(const Item& r) {
  return row_sum(r.id, r.qty, r.price, r.created_at, r.name.size());
}

constexpr std::int32_t kQtyRange = 10000;  // qty in [0, kQtyRange)
constexpr std::int32_t kBetweenWidth = 50;
constexpr std::int64_t kRangeLimit = 20;

// The inputs of every workload, generated once from a fixed seed, so each
// library reads and writes the same rows.
struct Inputs {
  std::vector<Item> rows;                                      // W1 (ids left 0)
  std::vector<std::int64_t> lookup_keys;                       // W2
  std::vector<std::pair<std::int64_t, std::int32_t>> updates;  // W4: id, new qty
  std::vector<std::pair<std::int32_t, std::int32_t>> ranges;   // W5: qty low, high
};

inline Inputs make_inputs(std::int64_t n, std::size_t updates, std::size_t ranges) {
  Inputs in;
  std::mt19937_64 rng(20240606);
  in.rows.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    Item r;
    r.name = "item-" + std::to_string(i) + "-" + std::to_string(rng() % 100000);
    r.qty = static_cast<std::int32_t>(rng() % kQtyRange);
    // Distinct prices (48271 is a unit modulo the prime 1000003), so ORDER BY
    // price LIMIT has one answer.
    r.price = static_cast<double>((i * 48271) % 1000003) / 100.0 + 0.25;
    r.created_at = 1700000000000 + i * 1000;
    in.rows.push_back(std::move(r));
  }
  in.lookup_keys.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    in.lookup_keys.push_back(1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n)));
  for (std::size_t i = 0; i < updates; ++i)
    in.updates.emplace_back(1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n)),
                            static_cast<std::int32_t>(rng() % kQtyRange));
  for (std::size_t i = 0; i < ranges; ++i) {
    const auto lo = static_cast<std::int32_t>(rng() % (kQtyRange - kBetweenWidth));
    in.ranges.emplace_back(lo, lo + kBetweenWidth);
  }
  return in;
}

using Clock = std::chrono::steady_clock;

template <class F>
double seconds(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A scan of 100,000 rows takes 30-100 ms here, and W4's 10,000 updates on
// SQLite or LMDB 35-120 ms: short enough for one of the machine's hiccups
// to move a ratio by half. Those workloads time kPasses runs in a row
// (their ops/run count every pass's operations; W4 repeats the same
// transaction, which leaves the same table).
inline constexpr int kPasses = 5;

// The report's line saying so; `which`: the workloads, e.g. "W3a, W3b".
inline std::string passes_note(const std::string& which) {
  return "- " + which + ": " + std::to_string(kPasses) +
         " runs in a row per timed run (ops/run counts every run's operations)\n";
}

// Runs `work` kPasses times. `work` returns its checksum, as a std::uint64_t
// or a std::optional of one (nullopt: the library has no such path, and it
// runs once). Returns the checksum of one pass, or, when the passes
// disagree, its complement, which no correct run gives (so the run's
// checksums disagree).
template <class F>
auto passes(F&& work) -> decltype(work()) {
  const auto first = work();
  if constexpr (std::is_same_v<decltype(first), const std::uint64_t>) {
    for (int i = 1; i < kPasses; ++i)
      if (work() != first) return ~first;
  } else {
    if (!first) return first;
    for (int i = 1; i < kPasses; ++i)
      if (work() != first) return ~*first;
  }
  return first;
}

// Pointers to the elements of `all` starting at element rep % size,
// wrapping around: the order in which repetition `rep` runs the libraries,
// so that the one going first rotates.
template <class T>
std::vector<T*> rotated(std::vector<T>& all, int rep) {
  std::vector<T*> order;
  for (std::size_t i = 0; i < all.size(); ++i)
    order.push_back(&all[(i + static_cast<std::size_t>(rep)) % all.size()]);
  return order;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Results of one backend: per workload, per library, the seconds of each
// repetition and the checksums seen.
struct Results {
  std::vector<std::string> workloads;        // in report order
  std::map<std::string, std::uint64_t> ops;  // workload -> operations per run
  std::vector<std::string> libraries;        // in report order; the first is the baseline
  std::map<std::pair<std::string, std::string>, std::vector<double>> secs;
  std::map<std::pair<std::string, std::string>, std::vector<std::uint64_t>> sums;
  // workload -> the workload whose first-library rate its ratios divide by
  // (a batched row is compared with the one-statement-per-row baseline).
  std::map<std::string, std::string> baseline_of;

  // Ratios of `workload` are taken against the first library's rate on
  // `base` (default: on `workload` itself). Checksums must still agree
  // within `workload` only.
  void set_baseline(const std::string& workload, const std::string& base) {
    baseline_of[workload] = base;
  }

  // Peer libraries (neither the baseline nor Tessera): a wrong result of
  // theirs is a finding of the benchmark, not a failure of it. It is shown as
  // "wrong" and listed, but does not fail checksums_agree().
  std::set<std::string> peers;
  void mark_peer(const std::string& library) { peers.insert(library); }

  // (workload, library) -> why: cells a check beyond the checksum found wrong
  // (e.g. a bulk insert whose rows read back differ from the rows sent).
  std::map<std::pair<std::string, std::string>, std::string> marked_wrong;
  void mark_wrong(const std::string& workload, const std::string& library, std::string why) {
    marked_wrong[{workload, library}] = std::move(why);
  }

  // The checksum every library must give on `workload`: the first recorded
  // by a library that is not a peer (by any library if only peers ran it).
  std::optional<std::uint64_t> reference(const std::string& workload) const {
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& l : libraries) {
        if (pass == 0 && peers.count(l)) continue;
        auto it = sums.find({workload, l});
        if (it != sums.end() && !it->second.empty()) return it->second.front();
      }
    return std::nullopt;
  }

  // Marked wrong, or another checksum than the reference in any repetition?
  bool wrong(const std::string& workload, const std::string& library) const {
    if (marked_wrong.count({workload, library})) return true;
    const auto ref = reference(workload);
    auto it = sums.find({workload, library});
    if (!ref || it == sums.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](auto s) { return s != *ref; });
  }

  void record(const std::string& workload, const std::string& library, std::uint64_t n_ops,
              double s, std::uint64_t checksum) {
    if (std::find(workloads.begin(), workloads.end(), workload) == workloads.end())
      workloads.push_back(workload);
    if (std::find(libraries.begin(), libraries.end(), library) == libraries.end())
      libraries.push_back(library);
    ops[workload] = n_ops;
    secs[{workload, library}].push_back(s);
    sums[{workload, library}].push_back(checksum);
  }

  // No wrong cell outside the peers? Each wrong cell is added to `report`
  // (non-peers) or `peer_notes` (peers), when given.
  bool checksums_agree(std::string* report, std::string* peer_notes = nullptr) const {
    bool ok = true;
    for (const auto& w : workloads)
      for (const auto& l : libraries) {
        if (!wrong(w, l)) continue;
        if (peers.count(l)) {
          if (peer_notes)
            *peer_notes += "peer's wrong result (not failing): " + w + " / " + l + "\n";
          continue;
        }
        ok = false;
        if (report) *report += "checksum mismatch: " + w + " / " + l + "\n";
      }
    return ok;
  }

  // One markdown line per wrong cell, with the reason when one was marked.
  std::string wrong_notes() const {
    std::string out;
    for (const auto& w : workloads)
      for (const auto& l : libraries) {
        if (!wrong(w, l)) continue;
        auto m = marked_wrong.find({w, l});
        out += "- " + l + " gave a wrong result on `" + w + "`" +
               (m != marked_wrong.end() ? ": " + m->second : std::string(" (checksum)")) +
               (peers.count(l) ? " (a peer: reported, not failing)" : "") + "\n";
      }
    return out;
  }
};

inline std::string fmt_rate(double ops_per_s) {
  char buf[64];
  if (ops_per_s >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f M", ops_per_s / 1e6);
  else if (ops_per_s >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1f k", ops_per_s / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", ops_per_s);
  return buf;
}

// One markdown table: workload x library, ops/s (median) and ratio to the
// first library's rate (on the same workload, or on its set_baseline()
// workload); a footnote names the re-based rows; then the checksums.
inline std::string markdown(const std::string& title, const Results& r) {
  std::ostringstream o;
  o << "### " << title << "\n\n| workload | ops/run |";
  for (std::size_t i = 0; i < r.libraries.size(); ++i) {
    o << ' ' << r.libraries[i] << " ops/s |";
    if (i) o << ' ' << r.libraries[i] << " / " << r.libraries[0] << " |";
  }
  o << "\n|---|---:|";
  for (std::size_t i = 0; i < r.libraries.size(); ++i) o << (i ? "---:|---:|" : "---:|");
  o << '\n';
  for (const auto& w : r.workloads) {
    o << "| " << w << " | " << r.ops.at(w) << " |";
    // The baseline: the first library's rate on this workload, or on the
    // workload set_baseline() named.
    double base = 0;
    {
      auto b = r.baseline_of.find(w);
      const std::string& bw = b == r.baseline_of.end() ? w : b->second;
      auto it = r.secs.find({bw, r.libraries[0]});
      if (it != r.secs.end() && r.ops.count(bw))
        base = static_cast<double>(r.ops.at(bw)) / median(it->second);
    }
    for (std::size_t i = 0; i < r.libraries.size(); ++i) {
      auto it = r.secs.find({w, r.libraries[i]});
      if (it == r.secs.end()) {
        o << (i ? " – | – |" : " – |");
        continue;
      }
      const double rate = static_cast<double>(r.ops.at(w)) / median(it->second);
      if (r.wrong(w, r.libraries[i])) {  // the rate of wrong work is not compared
        o << " wrong (" << fmt_rate(rate) << ") |" << (i ? " – |" : "");
        continue;
      }
      o << ' ' << fmt_rate(rate) << " |";
      if (i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", base > 0 ? rate / base : 0.0);
        o << ' ' << buf << " |";
      }
    }
    o << '\n';
  }
  for (const auto& [w, bw] : r.baseline_of)
    if (r.ops.count(w))
      o << "\n- `" << w << "`: ratios are to " << r.libraries[0] << " on `" << bw << "`.";
  if (!r.baseline_of.empty()) o << '\n';
  if (const std::string t = r.wrong_notes(); !t.empty()) o << "\nWrong results:\n\n" << t;
  o << "\nChecksums (identical across libraries and repetitions, or the run fails"
    << (r.peers.empty() ? "" : "; a peer's wrong result is only reported") << "):\n\n"
    << "| workload |";
  for (const auto& l : r.libraries) o << ' ' << l << " |";
  o << "\n|---|";
  for (std::size_t i = 0; i < r.libraries.size(); ++i) o << "---:|";
  o << '\n';
  for (const auto& w : r.workloads) {
    o << "| " << w << " |";
    for (const auto& l : r.libraries) {
      auto it = r.sums.find({w, l});
      if (it == r.sums.end() || it->second.empty()) {
        o << " – |";
        continue;
      }
      const bool same = std::all_of(it->second.begin(), it->second.end(),
                                    [&](auto s) { return s == it->second.front(); });
      o << ' ' << it->second.front() << (same ? "" : " (varies!)")
        << (r.wrong(w, l) ? " (wrong!)" : "") << " |";
    }
    o << '\n';
  }
  return o.str();
}

inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown";
}

// The longest settle() waits (--settle SECONDS; 0, the default, turns it
// off: the smoke runs share the machine with the test suite, which is never
// idle).
inline double g_settle_seconds = 0;

// Waits until the machine is idle: until the CPUs were at least 90% idle
// over a quarter of a second (from /proc/stat), or for at most
// g_settle_seconds. A database server keeps working after a write workload
// (flushing pages, purging, autovacuum) on the cores the next workload's
// client and server need; whichever library ran next would pay for it.
// Returns the seconds waited.
inline double settle() {
  const double max_seconds = g_settle_seconds;
  if (max_seconds <= 0) return 0;
  const auto sample = [](std::uint64_t& busy, std::uint64_t& idle) {
    std::ifstream f("/proc/stat");
    std::string cpu;
    std::uint64_t v[8] = {};
    f >> cpu;
    for (auto& x : v) f >> x;
    idle = v[3] + v[4];                              // idle, iowait
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];  // user nice system irq softirq steal
    return static_cast<bool>(f);
  };
  const auto start = std::chrono::steady_clock::now();
  const auto waited = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::uint64_t b0 = 0, i0 = 0, b1 = 0, i1 = 0;
  if (!sample(b0, i0)) return 0;
  while (waited() < max_seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!sample(b1, i1)) return waited();
    const double total = static_cast<double>((b1 - b0) + (i1 - i0));
    if (total > 0 && static_cast<double>(i1 - i0) / total >= 0.9) break;
    b0 = b1;
    i0 = i1;
  }
  return waited();
}

inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

inline std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

inline unsigned cpus() { return std::thread::hardware_concurrency(); }

// Ends a benchmark's main(): prints the report, writes it to `out_path`
// (when given) and returns the exit status: 1 when the file cannot be
// written, 2 when the checksums disagreed (`ok` false; `mismatches` goes to
// stderr), else 0. `notes` (peers' wrong results) go to stderr either way.
inline int finish(const std::string& report, const std::string& out_path, bool ok,
                  const std::string& mismatches, const std::string& notes = {}) {
  std::cout << report;
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    f << report;
    if (!f) {
      std::cerr << "error: cannot write " << out_path << '\n';
      return 1;
    }
  }
  if (!notes.empty()) std::cerr << notes;
  if (!ok) {
    std::cerr << mismatches;
    return 2;
  }
  return 0;
}

// The command line of a benchmark: "--name value" pairs. --n (rows,
// default 100000), --reps (default 3) and --out (a file for the report) are
// common; `extra` names the options a benchmark takes besides.
struct Args {
  std::int64_t n = 100000;
  int reps = 3;
  std::string out;
  std::map<std::string, std::string> extra;  // option name -> value, as given

  // The value of an extra option, or `fallback` when it was not given.
  std::string get(const std::string& name, std::string fallback = {}) const {
    auto it = extra.find(name);
    return it == extra.end() ? fallback : it->second;
  }
  // The server URL: --url, else the environment variable `env` (the one the
  // test suite and scripts/services/*.sh use), else empty.
  std::string url(const char* env) const {
    std::string u = get("--url");
    if (u.empty())
      if (const char* e = std::getenv(env)) u = e;
    return u;
  }
};

// Parses argv; nullopt on an unknown option, a missing value, or --n or
// --reps not positive (the caller prints its usage).
inline std::optional<Args> parse_args(int argc, char** argv,
                                      std::initializer_list<std::string_view> extra) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    const char* value = argv[i + 1];
    if (name == "--n")
      a.n = std::atoll(value);
    else if (name == "--reps")
      a.reps = std::atoi(value);
    else if (name == "--out")
      a.out = value;
    else if (name == "--settle")
      g_settle_seconds = std::atof(value);
    else if (std::find(extra.begin(), extra.end(), name) != extra.end())
      a.extra[name] = value;
    else
      return std::nullopt;
  }
  if (a.n <= 0 || a.reps <= 0) return std::nullopt;
  return a;
}

}  // namespace bench
