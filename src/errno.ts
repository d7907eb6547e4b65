/**
 * errno names and messages (Linux, x86_64/arm64 numbering) and libbpf's own
 * error codes (`enum libbpf_errno`, 4000+, libbpf.h). Pure: no FFI.
 */

/** [errno, name, message] for the errors BPF calls return. */
const TABLE: readonly (readonly [number, string, string])[] = [
  [1, "EPERM", "Operation not permitted"],
  [2, "ENOENT", "No such file or directory"],
  [3, "ESRCH", "No such process"],
  [4, "EINTR", "Interrupted system call"],
  [5, "EIO", "Input/output error"],
  [6, "ENXIO", "No such device or address"],
  [7, "E2BIG", "Argument list too long"],
  [8, "ENOEXEC", "Exec format error"],
  [9, "EBADF", "Bad file descriptor"],
  [10, "ECHILD", "No child processes"],
  [11, "EAGAIN", "Resource temporarily unavailable"],
  [12, "ENOMEM", "Cannot allocate memory"],
  [13, "EACCES", "Permission denied"],
  [14, "EFAULT", "Bad address"],
  [16, "EBUSY", "Device or resource busy"],
  [17, "EEXIST", "File exists"],
  [18, "EXDEV", "Invalid cross-device link"],
  [19, "ENODEV", "No such device"],
  [20, "ENOTDIR", "Not a directory"],
  [21, "EISDIR", "Is a directory"],
  [22, "EINVAL", "Invalid argument"],
  [23, "ENFILE", "Too many open files in system"],
  [24, "EMFILE", "Too many open files"],
  [25, "ENOTTY", "Inappropriate ioctl for device"],
  [26, "ETXTBSY", "Text file busy"],
  [27, "EFBIG", "File too large"],
  [28, "ENOSPC", "No space left on device"],
  [29, "ESPIPE", "Illegal seek"],
  [30, "EROFS", "Read-only file system"],
  [31, "EMLINK", "Too many links"],
  [32, "EPIPE", "Broken pipe"],
  [33, "EDOM", "Numerical argument out of domain"],
  [34, "ERANGE", "Numerical result out of range"],
  [35, "EDEADLK", "Resource deadlock avoided"],
  [36, "ENAMETOOLONG", "File name too long"],
  [38, "ENOSYS", "Function not implemented"],
  [39, "ENOTEMPTY", "Directory not empty"],
  [40, "ELOOP", "Too many levels of symbolic links"],
  [42, "ENOMSG", "No message of desired type"],
  [43, "EIDRM", "Identifier removed"],
  [61, "ENODATA", "No data available"],
  [62, "ETIME", "Timer expired"],
  [67, "ENOLINK", "Link has been severed"],
  [71, "EPROTO", "Protocol error"],
  [74, "EBADMSG", "Bad message"],
  [75, "EOVERFLOW", "Value too large for defined data type"],
  [84, "EILSEQ", "Invalid or incomplete multibyte or wide character"],
  [88, "ENOTSOCK", "Socket operation on non-socket"],
  [90, "EMSGSIZE", "Message too long"],
  [91, "EPROTOTYPE", "Protocol wrong type for socket"],
  [92, "ENOPROTOOPT", "Protocol not available"],
  [93, "EPROTONOSUPPORT", "Protocol not supported"],
  [94, "ESOCKTNOSUPPORT", "Socket type not supported"],
  [95, "EOPNOTSUPP", "Operation not supported"],
  [97, "EAFNOSUPPORT", "Address family not supported by protocol"],
  [98, "EADDRINUSE", "Address already in use"],
  [99, "EADDRNOTAVAIL", "Cannot assign requested address"],
  [100, "ENETDOWN", "Network is down"],
  [101, "ENETUNREACH", "Network is unreachable"],
  [103, "ECONNABORTED", "Software caused connection abort"],
  [104, "ECONNRESET", "Connection reset by peer"],
  [105, "ENOBUFS", "No buffer space available"],
  [106, "EISCONN", "Transport endpoint is already connected"],
  [107, "ENOTCONN", "Transport endpoint is not connected"],
  [110, "ETIMEDOUT", "Connection timed out"],
  [111, "ECONNREFUSED", "Connection refused"],
  [113, "EHOSTUNREACH", "No route to host"],
  [114, "EALREADY", "Operation already in progress"],
  [115, "EINPROGRESS", "Operation now in progress"],
  [122, "EDQUOT", "Disk quota exceeded"],
  [125, "ECANCELED", "Operation canceled"],
  // Kernel-internal, but the BPF syscall leaks it (include/linux/errno.h).
  [524, "ENOTSUPP", "Operation is not supported (kernel ENOTSUPP)"],
  [4000, "LIBBPF_ERRNO__LIBELF", "Something wrong in libelf"],
  [4001, "LIBBPF_ERRNO__FORMAT", "BPF object format invalid"],
  [4002, "LIBBPF_ERRNO__KVERSION", "'version' section incorrect or lost"],
  [4003, "LIBBPF_ERRNO__ENDIAN", "Endian mismatch"],
  [4004, "LIBBPF_ERRNO__INTERNAL", "Internal error in libbpf"],
  [4005, "LIBBPF_ERRNO__RELOC", "Relocation failed"],
  [4006, "LIBBPF_ERRNO__LOAD", "Load program failure for unknown reason"],
  [4007, "LIBBPF_ERRNO__VERIFY", "Kernel verifier blocks program loading"],
  [4008, "LIBBPF_ERRNO__PROG2BIG", "Program too big"],
  [4009, "LIBBPF_ERRNO__KVER", "Incorrect kernel version"],
  [4010, "LIBBPF_ERRNO__PROGTYPE", "Kernel doesn't support this program type"],
  [4011, "LIBBPF_ERRNO__WRNGPID", "Wrong pid in netlink message"],
  [4012, "LIBBPF_ERRNO__INVSEQ", "Invalid netlink sequence"],
  [4013, "LIBBPF_ERRNO__NLPARSE", "Incorrect netlink message parsing"],
];

const BY_NUMBER = new Map(TABLE.map(([n, name, msg]) => [n, { name, msg }]));
const BY_NAME = new Map(TABLE.map(([n, name]) => [name, n]));

/** errno constants by name, for comparisons (`e.errno === Errno.ENOENT`). */
export const Errno = Object.freeze(
  Object.fromEntries(TABLE.map(([n, name]) => [name, n])),
) as Readonly<Record<string, number>>;

/** Symbolic name of an errno (sign ignored); `E<n>` when unknown. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return BY_NUMBER.get(n)?.name ?? `E${n}`;
}

/** The errno with this name, or undefined. */
export function errnoByName(name: string): number | undefined {
  return BY_NAME.get(name);
}

/** A strerror-like message (sign ignored). */
export function errnoMessage(errno: number): string {
  const n = Math.abs(errno);
  return BY_NUMBER.get(n)?.msg ?? `Unknown error ${n}`;
}
