// The backlog of a listening socket: sock_diag for unix sockets, TCP_INFO for TCP.

#include "ListenQueue.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int unix_listen_queue(int fd, uint32_t *queued, uint32_t *limit) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -1;
    int diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag < 0) return -1;
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.header.nlmsg_seq = 1;
    message.request.sdiag_family = AF_UNIX;
    message.request.udiag_states = 1u << 10;  // TCP_LISTEN
    message.request.udiag_ino = (uint32_t)info.st_ino;
    message.request.udiag_show = UDIAG_SHOW_RQLEN;
    // No cookie to check: the inode names the socket.
    message.request.udiag_cookie[0] = ~0u;
    message.request.udiag_cookie[1] = ~0u;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(diag, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) != sizeof message) {
        close(diag);
        return -1;
    }
    // The kernel answers at once; the poll only bounds a read that should never wait.
    struct pollfd ready = {.fd = diag, .events = POLLIN};
    if (poll(&ready, 1, 1000) != 1) {
        close(diag);
        errno = ETIMEDOUT;
        return -1;
    }
    uint64_t buffer[1024];
    ssize_t count = recv(diag, buffer, sizeof buffer, 0);
    close(diag);
    if (count < 0) return -1;
    for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; NLMSG_OK(header, (size_t)count);
         header = NLMSG_NEXT(header, count)) {
        if (header->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *error = NLMSG_DATA(header);
            errno = error->error < 0 ? -error->error : EPROTO;
            return -1;
        }
        if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
        struct unix_diag_msg *reply = NLMSG_DATA(header);
        int length = (int)(header->nlmsg_len - NLMSG_LENGTH(sizeof *reply));
        for (struct rtattr *attribute = (struct rtattr *)(reply + 1); RTA_OK(attribute, length);
             attribute = RTA_NEXT(attribute, length)) {
            if (attribute->rta_type != UNIX_DIAG_RQLEN) continue;
            struct unix_diag_rqlen *lengths = RTA_DATA(attribute);
            *queued = lengths->udiag_rqueue;
            *limit = lengths->udiag_wqueue;
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

static int tcp_listen_queue(int fd, uint32_t *queued, uint32_t *limit) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    // For a listening socket the kernel reports the accept queue in these two fields.
    *queued = info.tcpi_unacked;
    *limit = info.tcpi_sacked;
    return 0;
}

int chr_listen_queue(int fd, uint32_t *queued, uint32_t *limit) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    switch (address.ss_family) {
    case AF_UNIX: return unix_listen_queue(fd, queued, limit);
    case AF_INET:
    case AF_INET6: return tcp_listen_queue(fd, queued, limit);
    default: errno = EAFNOSUPPORT; return -1;
    }
}
