/*
 * nginx-gamma: every size, limit and default of the core in one place.
 * The API limits are the ones the Kubernetes API server and the Gateway
 * API CRDs enforce (maxItems, maxLength): an object we accept is one the
 * API server would accept.  The sizes are ours.
 */

#ifndef GM_LIMITS_H
#define GM_LIMITS_H


/* the API's limits, per object (maxItems, maxLength) */

#define GM_MAX_CLUSTER_IPS         2        /* Service clusterIPs */
#define GM_MAX_EPS_PORTS           100      /* EndpointSlice ports */
#define GM_MAX_EPS_ENDPOINTS       1000     /* EndpointSlice endpoints */
#define GM_MAX_EPS_ADDRESSES       100      /* addresses of one endpoint */
#define GM_MAX_PARENT_REFS         32       /* HTTPRoute parentRefs */
#define GM_MAX_HOSTNAMES           16       /* HTTPRoute hostnames */
#define GM_MAX_RULES               16       /* HTTPRoute rules */
#define GM_MAX_MATCHES             64       /* matches of one rule */
#define GM_MAX_MATCHES_TOTAL       128      /* matches of all rules */
#define GM_MAX_KV_MATCHES          16       /* header or query matches */
#define GM_MAX_HEADER_VALUE        4096     /* a header match value */
#define GM_MAX_QUERY_VALUE         1024     /* a query parameter value */
#define GM_MAX_PATH_VALUE          1024     /* a path match or rewrite */
#define GM_MAX_FILTERS             16       /* filters of a rule or ref */
#define GM_MAX_BACKEND_REFS        16       /* backendRefs of a rule */
#define GM_MAX_WEIGHT              1000000  /* a backendRef's weight */
#define GM_MAX_HEADER_ACTIONS      16       /* set, add or remove items */
#define GM_MAX_CORS_LIST           64       /* CORS origins, headers */
#define GM_MAX_CORS_METHODS        9        /* CORS allowMethods */
#define GM_MAX_RETRY_CODES         200      /* retry.codes */
#define GM_MAX_GRANT_REFS          16       /* ReferenceGrant from, to */
#define GM_MAX_PORT                65535    /* a TCP port */
#define GM_MAX_POLICY_TARGETS      16       /* a policy's targetRefs */
#define GM_MAX_CA_REFS             8        /* caCertificateRefs */
#define GM_MAX_SANS                5        /* subjectAltNames */
#define GM_MAX_SAN_URI             2048     /* a subjectAltNames URI */
#define GM_MAX_CA_BUNDLE           1048576  /* a ConfigMap's ca.crt */
#define GM_RETRY_CODE_MIN          400      /* retry.codes range */
#define GM_RETRY_CODE_MAX          599

/* the API's length limits of names, in characters */

#define GM_MAX_OBJECT_NAME         253      /* names, DNS subdomains */
#define GM_MAX_LABEL               63       /* DNS labels, kinds */
#define GM_MAX_HEADER_NAME         256      /* an HTTP header name */
#define GM_MAX_PORT_NAME           15       /* an IANA service name */
#define GM_MAX_METHOD              7        /* "OPTIONS", "CONNECT" */

/* the API's defaults */

#define GM_MIRROR_DENOMINATOR      100      /* fraction.denominator */
#define GM_CORS_MAX_AGE            5        /* CORS maxAge, seconds */
#define GM_REDIRECT_STATUS         302      /* RequestRedirect statusCode */

/* our bounds on fields the API leaves open */

#define GM_MAX_META_VALUE          1024     /* resourceVersion, uid */
#define GM_MAX_TIMESTAMP           64       /* creationTimestamp */
#define GM_MAX_APP_PROTOCOL        256      /* a Service's appProtocol */
#define GM_MAX_IP_TEXT             64       /* an IP address as text */

/* manifest files: bounds that keep a hostile YAML file cheap */

#define GM_MANIFEST_MAX_DEPTH      64       /* nesting of YAML nodes */
#define GM_MANIFEST_MAX_ANCHORS    1024     /* per YAML document */
#define GM_MANIFEST_MAX_ALIASES    10000    /* per YAML document */
#define GM_MANIFEST_MAX_EXPANDED   1000000  /* nodes aliases stand for */
#define GM_MANIFEST_MAX_LIST_DEPTH 4        /* Lists within Lists */
#define GM_MANIFEST_REASON_MAX     256      /* the reason of a read error */

/*
 * the regex budget (gm_regex_budget.c): PCRE2 match steps, the unit of
 * PCRE2's match limit (about 25 ns each); gamma_regex_budget sets it
 */

#define GM_REGEX_BUDGET            100000   /* all regex tests of a request */
#define GM_REGEX_BUDGET_MAX        100000000  /* gamma_regex_budget's most */
#define GM_REGEX_FIRST_STEPS       16       /* a test's first limit, then x4 */
#define GM_REGEX_DEPTH_LIMIT       1000     /* backtracking depth of a test */
#define GM_REGEX_HEAP_LIMIT_KIB    8192     /* its backtracking memory */

/* the store */

#define GM_STORE_MIN_BUCKETS       64       /* per kind, a power of two */

/* buffers: text that is logged or formatted */

/* an object's first parse: its size (then parsed again into that size) */
#define GM_OBJECT_ARENA_PROBE      16384
#define GM_FIELD_PATH_MAX          256      /* "spec.rules[0].matches..." */
#define GM_FIELD_NAME_MAX          64       /* "clusterIPs[1]" */
#define GM_REASON_MAX              512      /* the reason of an error line */
#define GM_LOG_NAME_MAX            72       /* ns or name in a log line */
#define GM_LOG_VALUE_MAX           48       /* a quoted bad value */
#define GM_REGEX_ERROR_MAX         256      /* a PCRE2 error message */
#define GM_PORT_TEXT_MAX           8        /* "65535" and its NUL */
#define GM_INT_TEXT_MAX            24       /* a decimal int64_t */
#define GM_LOG_LINE_MAX            1024     /* one line of gm_log() */

/* the compiler's sizes */

#define GM_SNAPSHOT_BLOCK          65536    /* the snapshot arena's block */
/* incremental compile (gm_compile_incr.c, gm_compile_patch.c) */
#define GM_INCR_BLOCK              4096     /* a patched generation's block */
#define GM_INCR_MAX_SERVICES       64       /* changed at once, patched */
#define GM_INCR_MAX_DEPTH          4096     /* patches, then a full compile */
#define GM_INCR_READY_PORTS        32       /* a Service's slice ports told */
/* the patches' arenas kept: past this or a quarter of the full one's */
#define GM_INCR_CHAIN_MIN          (1 << 20)
#define GM_COMPILE_SCRATCH_BLOCK   65536    /* the compiler's scratch arena */
#define GM_COMPILE_BACKENDS_INIT   256      /* unresolved backends, slots */
#define GM_COMPILE_STRINGS_INIT    1024     /* interned strings, slots */
#define GM_COMPILE_INDEX_INIT      16       /* the Service index, slots */
#define GM_COMPILE_VECTOR_INIT     64       /* a scratch vector, items */
#define GM_COMPILE_POLICY_CANDIDATES 64   /* policies applying to a rule */
#define GM_COMPILE_POLICY_SOURCES  192      /* sources merged for a rule */
#define GM_LABEL_MAX               1024     /* "ns/name/rule0", "ns/a:80" */


#endif /* GM_LIMITS_H */
