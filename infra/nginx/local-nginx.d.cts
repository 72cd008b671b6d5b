export declare const TEMPLATE_PATH: string;

export interface LocalNginxOptions {
  /** Replicas as `host:port`, e.g. `127.0.0.1:6001`. */
  upstreams: readonly string[];
  /** Port nginx listens on; a free one is picked when omitted or 0. */
  listenPort?: number;
  listenHost?: string;
  /** Folder for the config, pid, temp files and error.log; a fresh temporary folder when omitted. */
  prefixDir?: string;
  workerProcesses?: number;
  /** Keep the prefix folder (config and error.log) after stop(). */
  keepPrefix?: boolean;
  /** The nginx binary; $NGINX_BINARY or `nginx` on the PATH (or in /usr/sbin) by default. */
  nginxBinary?: string;
}

export interface LocalNginx {
  url: string;
  port: number;
  prefixDir: string;
  configPath: string;
  pid: number | undefined;
  /** Graceful stop (SIGQUIT, SIGKILL after 10 s); idempotent. */
  stop(): Promise<void>;
}

export declare function findNginx(binary?: string): string | undefined;
export declare function renderLocalConfig(options: {
  upstreams: readonly string[];
  listenPort: number;
  listenHost?: string;
  prefixDir: string;
  workerProcesses?: number;
}): string;
export declare function startLocalNginx(options: LocalNginxOptions): Promise<LocalNginx>;
