
/*
 * The journal's format, shared by the side that writes records
 * (ngx_http_runs_store_journal.c) and the side that reads them back
 * (ngx_http_runs_store_replay.c): see the first for the layout.
 */


#ifndef _NGX_HTTP_RUNS_STORE_JFORMAT_H_INCLUDED_
#define _NGX_HTTP_RUNS_STORE_JFORMAT_H_INCLUDED_


#define NGX_HTTP_RUNS_J_ENDIAN  0x01020304

/* a run's flags, as written */
#define NGX_HTTP_RUNS_JF_LAUNCHER   0x0001
#define NGX_HTTP_RUNS_JF_REQUEUED   0x0002
#define NGX_HTTP_RUNS_JF_ERROR_CUT  0x0004
#define NGX_HTTP_RUNS_JF_RESULT_CUT 0x0008
#define NGX_HTTP_RUNS_JF_RESULT     0x0010
#define NGX_HTTP_RUNS_JF_CALLBACK   0x0020
#define NGX_HTTP_RUNS_JF_STOP       0x0040
#define NGX_HTTP_RUNS_JF_START      0x0080    /* a session's */
#define NGX_HTTP_RUNS_JF_DEREGISTER 0x0100    /* a launcher's */
#define NGX_HTTP_RUNS_JF_NOAFFINITY 0x0200    /* format 2: a run's */
#define NGX_HTTP_RUNS_JF_TOKEN      0x0400    /* format 2: a launcher's
                                                 token hash follows */
#define NGX_HTTP_RUNS_JF_SCOPE      0x0800    /* format 2: a session's or
                                                 a launcher's scope key
                                                 follows */
#define NGX_HTTP_RUNS_JF_NULL       0x1000    /* ... string i is null:
                                                 0x1000 << i */

#define NGX_HTTP_RUNS_J_RUN_BODY     96
#define NGX_HTTP_RUNS_J_SESSION_BODY 24
#define NGX_HTTP_RUNS_J_LAUNCHER_BODY 48
#define NGX_HTTP_RUNS_J_BLUEPRINT_BODY 48

/* the kinds of key a replay indexes: runs, sessions, launchers, blueprints */
#define NGX_HTTP_RUNS_J_CLASSES     4


#define ngx_http_runs_j_put(p, v)                                            \
    (ngx_memcpy(p, &(v), sizeof(v)), (p) + sizeof(v))

#define ngx_http_runs_j_get(v, p)                                            \
    ngx_memcpy(&(v), p, sizeof(v))


uint32_t ngx_http_runs_crc32(u_char *p, size_t len);


#endif /* _NGX_HTTP_RUNS_STORE_JFORMAT_H_INCLUDED_ */
