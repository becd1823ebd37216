// SpareBlock: one freed block kept for the next object of the same class, so
// that a class made and destroyed once per statement (a driver's Rows of a
// find by key) costs no malloc and free per statement (about 160
// instructions together, a few percent of an in-memory point select).
//
// Use: a thread_local SpareBlock in the class's own .cpp file (internal
// linkage: a thread_local shared across shared libraries is reached through
// __tls_get_addr on every use), and class-specific operator new / delete
// that call take() and keep() with sizeof(the class):
//
//   namespace { thread_local SpareBlock spare; }
//   void* MyRows::operator new(std::size_t n) { return spare.take(n, sizeof(MyRows)); }
//   void MyRows::operator delete(void* p, std::size_t n) noexcept {
//     spare.keep(p, n, sizeof(MyRows));
//   }
//
// Only a block of exactly `size` bytes is kept or handed out (a derived
// class's larger block goes to the global allocator), and at most one.
//
// Thread safety: none needed: each thread has its own. An object may be
// freed on another thread than the one that made it; the block then simply
// serves that thread's next object. The kept block is freed when the thread
// ends; an object freed after that (from a static destructor) goes to the
// global allocator.
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace tessera {

class SpareBlock {
 public:
  SpareBlock() = default;
  SpareBlock(const SpareBlock&) = delete;
  SpareBlock& operator=(const SpareBlock&) = delete;
  ~SpareBlock() {
    ::operator delete(block_);
    block_ = nullptr;
    alive_ = false;
  }

  // A block of n bytes: the kept one when n == size and one is kept, else
  // the global operator new's (which throws std::bad_alloc when out of
  // memory).
  void* take(std::size_t n, std::size_t size) {
    if (n == size && block_ != nullptr) return std::exchange(block_, nullptr);
    return ::operator new(n);
  }

  // Keeps p (n bytes, from take()) for the next take() when n == size and
  // none is kept yet; frees it otherwise.
  void keep(void* p, std::size_t n, std::size_t size) noexcept {
    if (n == size && block_ == nullptr && alive_) {
      block_ = p;
      return;
    }
    ::operator delete(p);
  }

 private:
  void* block_ = nullptr;
  bool alive_ = true;  // false once destroyed (thread exit)
};

}  // namespace tessera
