#include <vector>
namespace net {
class Client {
 public:
  bool send(int n) { try { return n > 0 && ok(); } catch (...) { return false; } }
};
int Client::count() const { for (auto x : items) { if (x) return 1; } return 0; }
}
