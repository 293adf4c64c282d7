// SPDX-License-Identifier: MIT
//
// A generic N-API bridge to the system libbpf: objects, programs, maps by raw
// bytes, bpffs pins, XDP attach, BPF_PROG_TEST_RUN, BTF struct layouts.
// It knows nothing about load balancing. Calls that can fail return a
// negative errno (or a value / object on success); native/index.ts turns the
// negative number into a BpfError naming the operation and the object.

#include <napi.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <net/if.h>
#include <linux/if_link.h>
#include <string>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <uv.h>

namespace {

// libbpf's messages of the current load (verifier log included), so that a
// failed load can say why. Capped: the verifier log can be megabytes.
std::string g_log;
const size_t kLogCap = 64 * 1024;

int CaptureLog(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), fmt, args);
  if (n > 0 && g_log.size() < kLogCap) g_log.append(line);
  return n;
}

Napi::Value Errno(Napi::Env env, int err) {
  return Napi::Number::New(env, err < 0 ? err : -err);
}

// The error of a call that returned `ret` < 0: errno when set, else -ret.
Napi::Value Failure(Napi::Env env, int ret) { return Errno(env, errno ? errno : -ret); }

// The result of a libbpf call that returns -errno or >= 0.
Napi::Value Result(Napi::Env env, long ret) {
  if (ret < 0) return Errno(env, errno ? -errno : static_cast<int>(ret));
  return Napi::Number::New(env, static_cast<double>(ret));
}

Napi::Buffer<uint8_t> Copy(Napi::Env env, const void *p, size_t n) {
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t *>(p), n);
}

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {
                           InstanceMethod("maps", &BpfObject::Maps),
                           InstanceMethod("programs", &BpfObject::Programs),
                           InstanceMethod("setMaxEntries", &BpfObject::SetMaxEntries),
                           InstanceMethod("setInitialValue", &BpfObject::SetInitialValue),
                           InstanceMethod("setPinPath", &BpfObject::SetPinPath),
                           InstanceMethod("reuseMapFd", &BpfObject::ReuseMapFd),
                           InstanceMethod("load", &BpfObject::Load),
                           InstanceMethod("log", &BpfObject::Log),
                           InstanceMethod("close", &BpfObject::Close),
                       });
  }

  // new BpfObject(path): opens (does not load) an ELF object.
  explicit BpfObject(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BpfObject>(info) {
    std::string path = info[0].As<Napi::String>();
    errno = 0;
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj_) {
      open_err_ = errno ? -errno : -EINVAL;
      obj_ = nullptr;
    }
  }

  ~BpfObject() override { Release(); }

  int open_err() const { return open_err_; }

 private:
  void Release() {
    if (obj_) bpf_object__close(obj_);
    obj_ = nullptr;
  }

  bpf_map *FindMap(const Napi::Value &name) {
    if (!obj_) return nullptr;
    std::string n = name.As<Napi::String>();
    return bpf_object__find_map_by_name(obj_, n.c_str());
  }

  Napi::Value Maps(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!obj_) return out;
    bpf_map *map;
    uint32_t i = 0;
    bpf_object__for_each_map(map, obj_) {
      Napi::Object m = Napi::Object::New(env);
      m.Set("name", bpf_map__name(map));
      m.Set("type", static_cast<double>(bpf_map__type(map)));
      m.Set("keySize", bpf_map__key_size(map));
      m.Set("valueSize", bpf_map__value_size(map));
      m.Set("maxEntries", bpf_map__max_entries(map));
      m.Set("fd", bpf_map__fd(map));
      out.Set(i++, m);
    }
    return out;
  }

  Napi::Value Programs(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!obj_) return out;
    bpf_program *prog;
    uint32_t i = 0;
    bpf_object__for_each_program(prog, obj_) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("name", bpf_program__name(prog));
      p.Set("type", static_cast<double>(bpf_program__type(prog)));
      p.Set("fd", bpf_program__fd(prog));
      out.Set(i++, p);
    }
    return out;
  }

  Napi::Value SetMaxEntries(const Napi::CallbackInfo &info) {
    bpf_map *map = FindMap(info[0]);
    if (!map) return Errno(info.Env(), ENOENT);
    return Result(info.Env(), bpf_map__set_max_entries(map, info[1].As<Napi::Number>().Uint32Value()));
  }

  Napi::Value SetInitialValue(const Napi::CallbackInfo &info) {
    bpf_map *map = FindMap(info[0]);
    if (!map) return Errno(info.Env(), ENOENT);
    auto buf = info[1].As<Napi::Buffer<uint8_t>>();
    return Result(info.Env(), bpf_map__set_initial_value(map, buf.Data(), buf.Length()));
  }

  Napi::Value SetPinPath(const Napi::CallbackInfo &info) {
    bpf_map *map = FindMap(info[0]);
    if (!map) return Errno(info.Env(), ENOENT);
    std::string path = info[1].As<Napi::String>();
    return Result(info.Env(), bpf_map__set_pin_path(map, path.c_str()));
  }

  Napi::Value ReuseMapFd(const Napi::CallbackInfo &info) {
    bpf_map *map = FindMap(info[0]);
    if (!map) return Errno(info.Env(), ENOENT);
    return Result(info.Env(), bpf_map__reuse_fd(map, info[1].As<Napi::Number>().Int32Value()));
  }

  Napi::Value Load(const Napi::CallbackInfo &info) {
    if (!obj_) return Errno(info.Env(), EBADF);
    g_log.clear();
    errno = 0;
    int err = bpf_object__load(obj_);
    log_ = g_log;
    return Result(info.Env(), err);
  }

  Napi::Value Log(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), log_); }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Release();
    return info.Env().Undefined();
  }

  bpf_object *obj_ = nullptr;
  int open_err_ = 0;
  std::string log_;
};

Napi::FunctionReference *g_object_ctor = nullptr;

// openObject(path) -> BpfObject | -errno
Napi::Value OpenObject(const Napi::CallbackInfo &info) {
  Napi::Object o = g_object_ctor->New({info[0]});
  int err = BpfObject::Unwrap(o)->open_err();
  if (err) return Errno(info.Env(), err);
  return o;
}

int Fd(const Napi::Value &v) { return v.As<Napi::Number>().Int32Value(); }

Napi::Buffer<uint8_t> Buf(const Napi::Value &v) { return v.As<Napi::Buffer<uint8_t>>(); }

// mapLookup(fd, key, valueBytes) -> Buffer | -errno
Napi::Value MapLookup(const Napi::CallbackInfo &info) {
  auto key = Buf(info[1]);
  size_t size = info[2].As<Napi::Number>().Uint32Value();
  auto value = Napi::Buffer<uint8_t>::New(info.Env(), size);
  errno = 0;
  int ret = bpf_map_lookup_elem(Fd(info[0]), key.Data(), value.Data());
  if (ret < 0) return Failure(info.Env(), ret);
  return value;
}

// mapUpdate(fd, key, value, flags) -> 0 | -errno
Napi::Value MapUpdate(const Napi::CallbackInfo &info) {
  auto key = Buf(info[1]);
  auto value = Buf(info[2]);
  uint64_t flags = static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value());
  errno = 0;
  return Result(info.Env(), bpf_map_update_elem(Fd(info[0]), key.Data(), value.Data(), flags));
}

// mapDelete(fd, key) -> 0 | -errno
Napi::Value MapDelete(const Napi::CallbackInfo &info) {
  auto key = Buf(info[1]);
  errno = 0;
  return Result(info.Env(), bpf_map_delete_elem(Fd(info[0]), key.Data()));
}

// mapNextKey(fd, key | null, keyBytes) -> Buffer | -errno (-ENOENT past the last)
Napi::Value MapNextKey(const Napi::CallbackInfo &info) {
  size_t size = info[2].As<Napi::Number>().Uint32Value();
  auto next = Napi::Buffer<uint8_t>::New(info.Env(), size);
  const void *key = info[1].IsNull() ? nullptr : Buf(info[1]).Data();
  errno = 0;
  int ret = bpf_map_get_next_key(Fd(info[0]), key, next.Data());
  if (ret < 0) return Failure(info.Env(), ret);
  return next;
}

// mapLookupBatch(fd, inBatch | null, outBatch, keys, values, count) -> {error, count}
// BPF_MAP_LOOKUP_BATCH: up to `count` entries after the position `inBatch`
// (null: from the start) into `keys` and `values`, the next position into
// `outBatch`. error is 0 or -errno; -ENOENT means the walk is complete, and
// `count` entries were still read (the kernel reports both at once).
Napi::Value MapLookupBatch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  void *in = info[1].IsNull() ? nullptr : Buf(info[1]).Data();
  auto out = Buf(info[2]);
  auto keys = Buf(info[3]);
  auto values = Buf(info[4]);
  uint32_t count = info[5].As<Napi::Number>().Uint32Value();
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  errno = 0;
  int ret = bpf_map_lookup_batch(Fd(info[0]), in, out.Data(), keys.Data(), values.Data(), &count, &opts);
  Napi::Object o = Napi::Object::New(env);
  o.Set("error", ret < 0 ? Napi::Number::New(env, -(errno ? errno : -ret)) : Napi::Number::New(env, 0));
  o.Set("count", Napi::Number::New(env, count));
  return o;
}

// mapUpdateBatch(fd, keys, values, count, flags) -> {error, count}
// BPF_MAP_UPDATE_BATCH: `count` entries in one call; on failure `count` is
// how many were written when the kernel got that far, else the count given.
Napi::Value MapUpdateBatch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto keys = Buf(info[1]);
  auto values = Buf(info[2]);
  uint32_t count = info[3].As<Napi::Number>().Uint32Value();
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  opts.elem_flags = static_cast<uint64_t>(info[4].As<Napi::Number>().Int64Value());
  errno = 0;
  int ret = bpf_map_update_batch(Fd(info[0]), keys.Data(), values.Data(), &count, &opts);
  Napi::Object o = Napi::Object::New(env);
  o.Set("error", ret < 0 ? Napi::Number::New(env, -(errno ? errno : -ret)) : Napi::Number::New(env, 0));
  o.Set("count", Napi::Number::New(env, count));
  return o;
}

// mapCreate({type, name, keySize, valueSize, maxEntries, flags, innerMapFd}) -> fd | -errno
Napi::Value MapCreate(const Napi::CallbackInfo &info) {
  Napi::Object a = info[0].As<Napi::Object>();
  LIBBPF_OPTS(bpf_map_create_opts, opts);
  opts.map_flags = a.Get("flags").As<Napi::Number>().Uint32Value();
  if (a.Has("innerMapFd")) opts.inner_map_fd = a.Get("innerMapFd").As<Napi::Number>().Uint32Value();
  std::string name = a.Get("name").As<Napi::String>();
  errno = 0;
  int fd = bpf_map_create(static_cast<bpf_map_type>(a.Get("type").As<Napi::Number>().Uint32Value()),
                          name.c_str(), a.Get("keySize").As<Napi::Number>().Uint32Value(),
                          a.Get("valueSize").As<Napi::Number>().Uint32Value(),
                          a.Get("maxEntries").As<Napi::Number>().Uint32Value(), &opts);
  return Result(info.Env(), fd);
}

// mapInfo(fd) -> {id, type, name, keySize, valueSize, maxEntries, flags} | -errno
Napi::Value MapInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bpf_map_info mi;
  uint32_t len = sizeof(mi);
  memset(&mi, 0, sizeof(mi));
  errno = 0;
  int ret = bpf_obj_get_info_by_fd(Fd(info[0]), &mi, &len);
  if (ret < 0) return Failure(env, ret);
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", mi.id);
  o.Set("type", mi.type);
  o.Set("name", mi.name);
  o.Set("keySize", mi.key_size);
  o.Set("valueSize", mi.value_size);
  o.Set("maxEntries", mi.max_entries);
  o.Set("flags", mi.map_flags);
  return o;
}

// progInfo(fd) -> {id, type, name, tag} | -errno
Napi::Value ProgInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bpf_prog_info pi;
  uint32_t len = sizeof(pi);
  memset(&pi, 0, sizeof(pi));
  errno = 0;
  int ret = bpf_obj_get_info_by_fd(Fd(info[0]), &pi, &len);
  if (ret < 0) return Failure(env, ret);
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", pi.id);
  o.Set("type", pi.type);
  o.Set("name", pi.name);
  o.Set("tag", tag);
  return o;
}

// mapFdById(id), progFdById(id) -> fd | -errno
Napi::Value MapFdById(const Napi::CallbackInfo &info) {
  errno = 0;
  return Result(info.Env(), bpf_map_get_fd_by_id(info[0].As<Napi::Number>().Uint32Value()));
}

Napi::Value ProgFdById(const Napi::CallbackInfo &info) {
  errno = 0;
  return Result(info.Env(), bpf_prog_get_fd_by_id(info[0].As<Napi::Number>().Uint32Value()));
}

// objPin(fd, path) -> 0 | -errno; objGet(path) -> fd | -errno
Napi::Value ObjPin(const Napi::CallbackInfo &info) {
  std::string path = info[1].As<Napi::String>();
  errno = 0;
  return Result(info.Env(), bpf_obj_pin(Fd(info[0]), path.c_str()));
}

Napi::Value ObjGet(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  errno = 0;
  return Result(info.Env(), bpf_obj_get(path.c_str()));
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  errno = 0;
  return Result(info.Env(), close(Fd(info[0])));
}

// xdpAttach(ifindex, progFd, flags, oldProgFd) -> 0 | -errno. oldProgFd >= 0
// replaces exactly that program (XDP_FLAGS_REPLACE) or fails with EEXIST.
Napi::Value XdpAttach(const Napi::CallbackInfo &info) {
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  uint32_t flags = info[2].As<Napi::Number>().Uint32Value();
  int old_fd = Fd(info[3]);
  if (old_fd >= 0) {
    opts.old_prog_fd = old_fd;
    flags |= XDP_FLAGS_REPLACE;
  }
  errno = 0;
  return Result(info.Env(), bpf_xdp_attach(Fd(info[0]), Fd(info[1]), flags, &opts));
}

// xdpDetach(ifindex, flags) -> 0 | -errno
Napi::Value XdpDetach(const Napi::CallbackInfo &info) {
  errno = 0;
  return Result(info.Env(), bpf_xdp_detach(Fd(info[0]), info[1].As<Napi::Number>().Uint32Value(), nullptr));
}

// xdpQuery(ifindex) -> {attachMode, progId, drvProgId, skbProgId, hwProgId} | -errno
Napi::Value XdpQuery(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  errno = 0;
  int ret = bpf_xdp_query(Fd(info[0]), 0, &opts);
  if (ret < 0) return Failure(env, ret);
  Napi::Object o = Napi::Object::New(env);
  o.Set("attachMode", opts.attach_mode);
  o.Set("progId", opts.prog_id);
  o.Set("drvProgId", opts.drv_prog_id);
  o.Set("skbProgId", opts.skb_prog_id);
  o.Set("hwProgId", opts.hw_prog_id);
  return o;
}

// ifNameToIndex(name) -> ifindex | -errno
Napi::Value IfNameToIndex(const Napi::CallbackInfo &info) {
  std::string name = info[0].As<Napi::String>();
  errno = 0;
  unsigned idx = if_nametoindex(name.c_str());
  if (!idx) return Errno(info.Env(), errno ? errno : ENODEV);
  return Napi::Number::New(info.Env(), idx);
}

// testRun(progFd, data, repeat, dataOutBytes, ctxIn | null)
//   -> {retval, data, duration} | -errno
Napi::Value TestRun(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto in = Buf(info[1]);
  size_t out_size = info[3].As<Napi::Number>().Uint32Value();
  auto out = Napi::Buffer<uint8_t>::New(env, out_size);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.Data();
  opts.data_size_in = in.Length();
  opts.data_out = out.Data();
  opts.data_size_out = out_size;
  opts.repeat = info[2].As<Napi::Number>().Uint32Value();
  if (!info[4].IsNull() && !info[4].IsUndefined()) {
    auto ctx = Buf(info[4]);
    opts.ctx_in = ctx.Data();
    opts.ctx_size_in = ctx.Length();
  }
  errno = 0;
  int ret = bpf_prog_test_run_opts(Fd(info[0]), &opts);
  if (ret < 0) return Failure(env, ret);
  Napi::Object o = Napi::Object::New(env);
  o.Set("retval", opts.retval);
  o.Set("data", Copy(env, out.Data(), opts.data_size_out < out_size ? opts.data_size_out : out_size));
  o.Set("duration", opts.duration);
  return o;
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo &info) {
  return Result(info.Env(), libbpf_num_possible_cpus());
}

// btfStruct(objectPath, structName) -> {size, members: [{name, bitOffset, bitSize, size}]} | -errno
Napi::Value BtfStruct(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  errno = 0;
  struct btf *btf = btf__parse(path.c_str(), nullptr);
  if (!btf) return Errno(env, errno ? errno : EINVAL);
  int id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) {
    btf__free(btf);
    return Errno(env, ENOENT);
  }
  const struct btf_type *t = btf__type_by_id(btf, id);
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", t->size);
  Napi::Array members = Napi::Array::New(env);
  const struct btf_member *m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
    Napi::Object mo = Napi::Object::New(env);
    mo.Set("name", btf__name_by_offset(btf, m->name_off));
    mo.Set("bitOffset", btf_member_bit_offset(t, i));
    mo.Set("bitSize", btf_member_bitfield_size(t, i));
    mo.Set("size", static_cast<double>(btf__resolve_size(btf, m->type)));
    members.Set(i, mo);
  }
  o.Set("members", members);
  btf__free(btf);
  return o;
}

// btfEnum(objectPath, enumName) -> {NAME: value, ...} | -errno
Napi::Value BtfEnum(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  errno = 0;
  struct btf *btf = btf__parse(path.c_str(), nullptr);
  if (!btf) return Errno(env, errno ? errno : EINVAL);
  int id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_ENUM);
  if (id < 0) {
    btf__free(btf);
    return Errno(env, ENOENT);
  }
  const struct btf_type *t = btf__type_by_id(btf, id);
  Napi::Object o = Napi::Object::New(env);
  const struct btf_enum *e = btf_enum(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++, e++)
    o.Set(btf__name_by_offset(btf, e->name_off), static_cast<double>(e->val));
  btf__free(btf);
  return o;
}

// ---- raw sockets (VRRP, gratuitous ARP / NA) ----
//
// rawOpen(family 4|6, protocol, ifname, group | null) -> fd | -errno: a raw IP
// socket bound to the interface, TTL / hop limit 255 for unicast and
// multicast, multicast loop off, `group` joined on the interface.
Napi::Value RawOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int family = info[0].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
  int proto = info[1].As<Napi::Number>().Int32Value();
  std::string ifname = info[2].As<Napi::String>();
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (!ifindex) return Errno(env, ENODEV);
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return Errno(env, errno);
  int one = 1, zero = 0, ttl = 255;
  auto fail = [&](int err) {
    close(fd);
    return Errno(env, err);
  };
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) < 0) return fail(errno);
  if (family == AF_INET) {
    struct ip_mreqn mif;
    memset(&mif, 0, sizeof(mif));
    mif.imr_ifindex = ifindex;
    if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
      return fail(errno);
    if (!info[3].IsNull()) {
      std::string group = info[3].As<Napi::String>();
      struct ip_mreqn m;
      memset(&m, 0, sizeof(m));
      if (inet_pton(AF_INET, group.c_str(), &m.imr_multiaddr) != 1) return fail(EINVAL);
      m.imr_ifindex = ifindex;
      if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) < 0) return fail(errno);
    }
  } else {
    int idx = ifindex;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
      return fail(errno);
    if (!info[3].IsNull()) {
      std::string group = info[3].As<Napi::String>();
      struct ipv6_mreq m;
      memset(&m, 0, sizeof(m));
      if (inet_pton(AF_INET6, group.c_str(), &m.ipv6mr_multiaddr) != 1) return fail(EINVAL);
      m.ipv6mr_interface = ifindex;
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)) < 0) return fail(errno);
    }
  }
  return Napi::Number::New(env, fd);
}

// Fills `ss` with an IPv4 or IPv6 address (IPv6 scoped to `ifname`, for
// link-local addresses); returns its length, or 0 when `addr` does not parse.
socklen_t FillSockaddr(int family, const std::string &addr, const std::string &ifname, sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    auto *sin = reinterpret_cast<sockaddr_in *>(ss);
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, addr.c_str(), &sin->sin_addr) != 1) return 0;
    return sizeof(*sin);
  }
  auto *sin6 = reinterpret_cast<sockaddr_in6 *>(ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_scope_id = if_nametoindex(ifname.c_str());
  if (inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) != 1) return 0;
  return sizeof(*sin6);
}

// rawBind(fd, family, address, ifname) -> 0 | -errno: the source address of
// what it sends (ifname scopes an IPv6 link-local address)
Napi::Value RawBind(const Napi::CallbackInfo &info) {
  int fd = Fd(info[0]);
  int family = info[1].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
  std::string addr = info[2].As<Napi::String>();
  std::string ifname = info[3].As<Napi::String>();
  struct sockaddr_storage ss;
  socklen_t len = FillSockaddr(family, addr, ifname, &ss);
  if (!len) return Errno(info.Env(), EINVAL);
  errno = 0;
  return Result(info.Env(), bind(fd, reinterpret_cast<sockaddr *>(&ss), len));
}

// rawSend(fd, family, data, destination, ifname) -> bytes | -errno
Napi::Value RawSend(const Napi::CallbackInfo &info) {
  int fd = Fd(info[0]);
  int family = info[1].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
  auto data = Buf(info[2]);
  std::string dst = info[3].As<Napi::String>();
  std::string ifname = info[4].As<Napi::String>();
  struct sockaddr_storage ss;
  socklen_t len = FillSockaddr(family, dst, ifname, &ss);
  if (!len) return Errno(info.Env(), EINVAL);
  errno = 0;
  return Result(info.Env(), sendto(fd, data.Data(), data.Length(), 0, reinterpret_cast<sockaddr *>(&ss), len));
}

// One received packet: {data (after the IP header), src, dst, ttl}.
Napi::Value ReadOne(Napi::Env env, int fd, int family, bool *again) {
  uint8_t buf[2048];
  uint8_t ctrl[256];
  struct sockaddr_storage from;
  struct iovec iov = {buf, sizeof(buf)};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof(ctrl);
  ssize_t n = recvmsg(fd, &msg, 0);
  if (n < 0) {
    *again = errno == EAGAIN || errno == EWOULDBLOCK;
    return env.Null();
  }
  char src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "";
  int ttl = -1;
  const uint8_t *payload = buf;
  size_t plen = n;
  if (family == AF_INET) {
    // raw IPv4 sockets receive the IP header
    if (n < 20) return env.Null();
    size_t ihl = (buf[0] & 0x0f) * 4;
    if (ihl < 20 || static_cast<size_t>(n) < ihl) return env.Null();
    ttl = buf[8];
    inet_ntop(AF_INET, buf + 12, src, sizeof(src));
    inet_ntop(AF_INET, buf + 16, dst, sizeof(dst));
    payload = buf + ihl;
    plen = n - ihl;
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(&from)->sin6_addr, src, sizeof(src));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_HOPLIMIT) memcpy(&ttl, CMSG_DATA(c), sizeof(int));
      if (c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        inet_ntop(AF_INET6, &pi.ipi6_addr, dst, sizeof(dst));
      }
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", Copy(env, payload, plen));
  o.Set("src", src);
  o.Set("dst", dst);
  o.Set("ttl", ttl);
  return o;
}

// A socket watched on the event loop: every readable packet goes to the JS
// callback on the main thread (uv_poll, no thread of our own).
class RawWatch : public Napi::ObjectWrap<RawWatch> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "RawWatch", {InstanceMethod("close", &RawWatch::Close)});
  }

  // new RawWatch(fd, family, callback(packet))
  explicit RawWatch(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RawWatch>(info) {
    fd_ = Fd(info[0]);
    family_ = info[1].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
    cb_ = Napi::Persistent(info[2].As<Napi::Function>());
    env_ = info.Env();
    uv_loop_t *loop = nullptr;
    napi_get_uv_event_loop(env_, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    uv_poll_init(loop, poll_, fd_);
    uv_poll_start(poll_, UV_READABLE, OnReadable);
    Ref();  // alive while watching
  }

 private:
  static void OnReadable(uv_poll_t *handle, int status, int) {
    auto *self = static_cast<RawWatch *>(handle->data);
    if (status < 0 || !self->poll_) return;
    Napi::HandleScope scope(self->env_);
    for (int i = 0; i < 64; i++) {
      bool again = false;
      Napi::Value pkt = ReadOne(self->env_, self->fd_, self->family_, &again);
      if (pkt.IsNull()) {
        if (again) break;
        continue;
      }
      self->cb_.MakeCallback(self->env_.Global(), {pkt});
      if (!self->poll_) break;  // closed by the callback
    }
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t *>(poll_), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
      poll_ = nullptr;
      close(fd_);
      Unref();
    }
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int family_ = AF_INET;
  uv_poll_t *poll_ = nullptr;
  Napi::FunctionReference cb_;
  Napi::Env env_ = nullptr;
};

// packetSend(ifname, frame) -> bytes | -errno: one Ethernet frame out of the
// interface as it is (gratuitous ARP, unsolicited NA).
Napi::Value PacketSend(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string ifname = info[0].As<Napi::String>();
  auto frame = Buf(info[1]);
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (!ifindex) return Errno(env, ENODEV);
  if (frame.Length() < 14) return Errno(env, EINVAL);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(env, errno);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_halen = ETH_ALEN;
  memcpy(sll.sll_addr, frame.Data(), ETH_ALEN);
  ssize_t n = sendto(fd, frame.Data(), frame.Length(), 0, reinterpret_cast<sockaddr *>(&sll), sizeof(sll));
  int err = errno;
  close(fd);
  if (n < 0) return Errno(env, err);
  return Napi::Number::New(env, static_cast<double>(n));
}

Napi::FunctionReference *g_watch_ctor = nullptr;

// rawWatch(fd, family, callback) -> RawWatch
Napi::Value NewRawWatch(const Napi::CallbackInfo &info) {
  return g_watch_ctor->New({info[0], info[1], info[2]});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(CaptureLog);
  Napi::Function ctor = BpfObject::Init(env);
  g_object_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("openObject", Napi::Function::New(env, OpenObject));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapNextKey", Napi::Function::New(env, MapNextKey));
  exports.Set("mapLookupBatch", Napi::Function::New(env, MapLookupBatch));
  exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
  exports.Set("mapCreate", Napi::Function::New(env, MapCreate));
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo));
  exports.Set("mapFdById", Napi::Function::New(env, MapFdById));
  exports.Set("progFdById", Napi::Function::New(env, ProgFdById));
  exports.Set("objPin", Napi::Function::New(env, ObjPin));
  exports.Set("objGet", Napi::Function::New(env, ObjGet));
  exports.Set("close", Napi::Function::New(env, CloseFd));
  exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach));
  exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
  exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex));
  exports.Set("testRun", Napi::Function::New(env, TestRun));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
  exports.Set("btfStruct", Napi::Function::New(env, BtfStruct));
  exports.Set("btfEnum", Napi::Function::New(env, BtfEnum));
  Napi::Function watch = RawWatch::Init(env);
  g_watch_ctor = new Napi::FunctionReference(Napi::Persistent(watch));
  exports.Set("rawOpen", Napi::Function::New(env, RawOpen));
  exports.Set("rawBind", Napi::Function::New(env, RawBind));
  exports.Set("rawSend", Napi::Function::New(env, RawSend));
  exports.Set("rawWatch", Napi::Function::New(env, NewRawWatch));
  exports.Set("packetSend", Napi::Function::New(env, PacketSend));
  return exports;
}

}  // namespace

NODE_API_MODULE(xdpvs_bridge, Init)
