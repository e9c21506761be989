/* The floor for offline replay: read every record of a capture with libpcap's pcap_next_ex
 * and nothing else. Used by scripts/bench-replay.sh; prints records, bytes and seconds. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: pcap-loop CAPTURE\n"); return 2; }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) { fprintf(stderr, "%s\n", err); return 1; }
    struct pcap_pkthdr *h;
    const u_char *d;
    long records = 0, bytes = 0;
    struct timespec a, z;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (pcap_next_ex(p, &h, &d) == 1) { records++; bytes += h->caplen; }
    clock_gettime(CLOCK_MONOTONIC, &z);
    double s = (z.tv_sec - a.tv_sec) + (z.tv_nsec - a.tv_nsec) / 1e9;
    printf("%ld records, %ld bytes in %.3f s\n", records, bytes, s);
    pcap_close(p);
    return 0;
}
