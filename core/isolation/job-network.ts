/**
 * The Docker network job containers join when their pool's network mode is `bridge` (in AWS).
 *
 * It is created on each container instance at boot (lib/worker-pool.ts user data), not by the
 * worker, because what makes it safe is the host firewall beside it: traffic from its subnet to
 * the instance metadata service (IMDS) and to the ECS agent's credentials endpoint is dropped in
 * DOCKER-USER, so a job container can reach the internet but never the instance role's or the
 * worker task role's credentials. Inter-container traffic is off (`enable_icc=false`), so jobs
 * on one instance cannot talk to each other either.
 */
export const JOB_NETWORK = {
  name: 'runplane-jobs',
  subnet: '172.30.0.0/16',
  /** IMDS and the ECS agent's task-credentials endpoint (169.254.170.2). */
  blockedDestinations: ['169.254.169.254', '169.254.170.2'],
} as const;

/**
 * Shell commands (for an instance's user data) that create the job network once Docker runs and
 * install its firewall rules. Idempotent, so a reboot re-applies them.
 */
export function jobNetworkSetupCommands(): string[] {
  const { name, subnet, blockedDestinations } = JOB_NETWORK;
  const unit = [
    '[Unit]',
    'Description=Runplane job network (no metadata or credentials endpoints for job containers)',
    'After=docker.service',
    'Requires=docker.service',
    'Before=ecs.service',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh -c 'docker network inspect ${name} >/dev/null 2>&1 || docker network create --driver bridge --subnet ${subnet} -o com.docker.network.bridge.enable_icc=false ${name}'`,
    ...blockedDestinations.map(
      (dst) => `ExecStart=/bin/sh -c 'iptables -C DOCKER-USER -s ${subnet} -d ${dst} -j DROP 2>/dev/null || iptables -I DOCKER-USER -s ${subnet} -d ${dst} -j DROP'`,
    ),
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
  return [
    `cat > /etc/systemd/system/runplane-job-network.service <<'UNIT'\n${unit}\nUNIT`,
    'systemctl daemon-reload',
    'systemctl enable --now --no-block runplane-job-network.service',
  ];
}
