// Package cluster holds black-box tests of reef-server's cluster mode with
// the real tools as judges: redis-cli --cluster create/check/info/add-node,
// redis-cli -c, redis-benchmark --cluster, go-redis's ClusterClient, the
// membership walk-through of the Redis Cluster tutorial, routing errors
// compared with redis-server 7.0 reply for reply, and mixed clusters of
// reef-servers and a real redis-server that agree on CLUSTER NODES and mark
// each other FAIL. Node timeouts are short so that the whole package runs
// in well under three minutes.
package cluster
