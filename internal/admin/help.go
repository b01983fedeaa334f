package admin

// redisCliHelp is redis-cli 7.0.15's `--cluster help` text, verbatim.
const redisCliHelp = `Cluster Manager Commands:
  create         host1:port1 ... hostN:portN
                 --cluster-replicas <arg>
  check          <host:port> or <host> <port> - separated by either colon or space
                 --cluster-search-multiple-owners
  info           <host:port> or <host> <port> - separated by either colon or space
  fix            <host:port> or <host> <port> - separated by either colon or space
                 --cluster-search-multiple-owners
                 --cluster-fix-with-unreachable-masters
  reshard        <host:port> or <host> <port> - separated by either colon or space
                 --cluster-from <arg>
                 --cluster-to <arg>
                 --cluster-slots <arg>
                 --cluster-yes
                 --cluster-timeout <arg>
                 --cluster-pipeline <arg>
                 --cluster-replace
  rebalance      <host:port> or <host> <port> - separated by either colon or space
                 --cluster-weight <node1=w1...nodeN=wN>
                 --cluster-use-empty-masters
                 --cluster-timeout <arg>
                 --cluster-simulate
                 --cluster-pipeline <arg>
                 --cluster-threshold <arg>
                 --cluster-replace
  add-node       new_host:new_port existing_host:existing_port
                 --cluster-slave
                 --cluster-master-id <arg>
  del-node       host:port node_id
  call           host:port command arg arg .. arg
                 --cluster-only-masters
                 --cluster-only-replicas
  set-timeout    host:port milliseconds
  import         host:port
                 --cluster-from <arg>
                 --cluster-from-user <arg>
                 --cluster-from-pass <arg>
                 --cluster-from-askpass
                 --cluster-copy
                 --cluster-replace
  backup         host:port backup_directory
  help           

For check, fix, reshard, del-node, set-timeout, info, rebalance, call, import, backup you can specify the host and port of any working node in the cluster.

Cluster Manager Options:
  --cluster-yes  Automatic yes to cluster commands prompts
`

// reefHelp lists what reef-cli adds to redis-cli's cluster manager.
const reefHelp = `Reef Extensions:
  plan           reshard|rebalance <host:port> [reshard or rebalance options]
                 --cluster-plan-file <file>   (default reef-plan.json)
  apply          <plan-file> [host:port]      (re-run to resume after an interruption)
  up             [--nodes 6] [--replicas 1] [--port 7000] [--dir reef-cluster]
  down           [--dir reef-cluster]
  reshard and rebalance also take:
                 --cluster-simulate            (reshard: print the plan only)
                 --cluster-by slots|keys|memory (rebalance)
                 --cluster-auto-weights        (rebalance: weights from maxmemory)
                 --cluster-parallel <n>        (pairs of nodes moving at once)
                 --cluster-slot-batch <n>      (slots opened and closed together)
                 --cluster-max-batch-bytes <n> (payload bound of one MIGRATE)
                 --cluster-big-key-bytes <n>   (collections bigger than this move in chunks)
                 --cluster-legacy              (redis-cli's one-slot-at-a-time moves)
  redis-trib.rb spellings are accepted: --replicas --from --to --slots --yes --slave
  --master-id --weight --auto-weights --use-empty-masters --simulate --threshold
  --pipeline --timeout --copy --replace
`

// Help prints the cluster manager help; like redis-cli it reports failure
// (exit status 1).
func (m *Manager) Help() error {
	m.printf("%s\n\n", redisCliHelp)
	m.printf("%s", reefHelp)
	return ErrFailed
}
