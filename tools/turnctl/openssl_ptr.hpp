// Owning pointers to OpenSSL objects, freed with their own *_free function:
//   OpensslPtr<X509, X509_free> cert{X509_new()};
#pragma once

#include <memory>

namespace turnd::turnctl {

template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

template <class T, auto Free>
using OpensslPtr = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace turnd::turnctl
