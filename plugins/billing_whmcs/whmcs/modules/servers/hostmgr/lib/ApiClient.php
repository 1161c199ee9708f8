<?php
/**
 * The client of hostmgr's integration API that every module function uses.
 *
 * It sends JSON with the server's API token, verifies TLS, bounds every call
 * with a connect and a total timeout, writes one module log entry per call with
 * the token and passwords masked, and turns every failure into an ApiError whose
 * message tells a WHMCS admin what to fix.
 */

namespace WHMCS\Module\Server\Hostmgr;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

class ApiClient
{
    const DEFAULT_PORT = 8448;
    const PATH = '/api/integration';
    const CONNECT_TIMEOUT = 5;
    const TIMEOUT = 30;
    /**
     * Creating an instance may first pull its n8n image; suspending a reseller
     * stops every instance of it and of its customers.
     */
    const LONG_TIMEOUT = 300;
    /** Actions that stop or start a container wait for n8n to shut down or start. */
    const ACTION_TIMEOUT = 60;
    const MASK = '********';
    /** Linux errno values behind a failed connect, in words. */
    const SOCKET_ERRORS = [
        101 => 'network unreachable',
        111 => 'connection refused',
        113 => 'no route to host',
    ];
    /** Fields whose values are never logged, in requests or responses. */
    const SECRET_FIELDS = ['password', 'token', 'secret', 'signature', 'authorization'];

    /** @var string scheme, host and port, e.g. https://panel.example.com:8448 */
    private $origin;

    /** @var string */
    private $token;

    /** @var string the WHMCS action, as the module log names it */
    private $action;

    /** @var string[] values masked in every log entry */
    private $secrets;

    /**
     * @param string[] $secrets further values to mask in the module log
     */
    public function __construct(string $origin, string $token, string $action, array $secrets = [])
    {
        $this->origin = $origin;
        $this->token = $token;
        $this->action = $action;
        $this->secrets = array_values(array_filter(
            array_merge([$token], $secrets),
            function ($value) {
                return is_string($value) && $value !== '';
            }
        ));
    }

    /**
     * A client for the server in WHMCS's module $params.
     *
     * @param array<string, mixed> $params
     * @param string[] $secrets
     */
    public static function fromParams(array $params, string $action, array $secrets = []): self
    {
        $token = self::firstOf($params, ['serverpassword', 'serveraccesshash']);
        if ($token === '') {
            throw new ModuleError(
                'The server has no hostmgr API token: create one with '
                . '`hostmgr token create --email <admin email> --name whmcs` and paste it '
                . 'into the server\'s Password (or Access Hash) field'
            );
        }
        return new self(self::originOf($params), $token, $action, $secrets);
    }

    /**
     * Scheme, host and port from the server's hostname (or IP), port and SSL box.
     *
     * @param array<string, mixed> $params
     */
    public static function originOf(array $params): string
    {
        $host = self::firstOf($params, ['serverhostname', 'serverip']);
        if ($host === '') {
            throw new ModuleError(
                'The server has no hostname or IP address: set one under '
                . 'System Settings > Servers'
            );
        }
        $secure = self::isTicked($params['serversecure'] ?? false);
        $port = 0;
        // Admins often paste a URL; take its scheme, host and port.
        if (preg_match('#^(https?)://#i', $host, $match)) {
            $parts = parse_url($host);
            $secure = strtolower($match[1]) === 'https';
            $host = (string) ($parts['host'] ?? '');
            $port = (int) ($parts['port'] ?? 0);
        }
        $host = rtrim($host, '/');
        if (filter_var(trim($host, '[]'), FILTER_VALIDATE_IP, FILTER_FLAG_IPV6)) {
            $host = '[' . trim($host, '[]') . ']';
        } elseif (!preg_match('/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/', $host)) {
            throw new ModuleError(
                'The server\'s hostname "' . $host . '" is not a host name or IP address'
            );
        }
        $configured = trim((string) ($params['serverport'] ?? ''));
        if ($configured !== '') {
            if (!ctype_digit($configured) || (int) $configured < 1 || (int) $configured > 65535) {
                throw new ModuleError(
                    'The server\'s port "' . $configured . '" is not a port number: '
                    . 'hostmgr listens on ' . self::DEFAULT_PORT . ' by default'
                );
            }
            $port = (int) $configured;
        }
        if ($port === 0) {
            $port = self::DEFAULT_PORT;
        }
        return ($secure ? 'https' : 'http') . '://' . $host . ':' . $port;
    }

    /**
     * The first of $fields that is set and not blank, trimmed; else "".
     *
     * @param array<string, mixed> $params
     * @param string[] $fields
     */
    private static function firstOf(array $params, array $fields): string
    {
        foreach ($fields as $field) {
            $value = trim((string) ($params[$field] ?? ''));
            if ($value !== '') {
                return $value;
            }
        }
        return '';
    }

    /** WHMCS passes check boxes as true, 1, "1" or "on". */
    private static function isTicked($value): bool
    {
        if (is_bool($value)) {
            return $value;
        }
        return in_array(strtolower(trim((string) $value)), ['1', 'on', 'yes', 'true'], true);
    }

    /**
     * $value as one path segment: percent-encoded, except for the characters a
     * segment may hold as they are (RFC 3986 "pchar"), so an email keeps its "@".
     */
    public static function segment(string $value): string
    {
        return strtr(rawurlencode($value), [
            '%40' => '@', '%3A' => ':', '%21' => '!', '%24' => '$', '%26' => '&',
            '%27' => "'", '%28' => '(', '%29' => ')', '%2A' => '*', '%2B' => '+',
            '%2C' => ',', '%3B' => ';', '%3D' => '=',
        ]);
    }

    public function getOrigin(): string
    {
        return $this->origin;
    }

    /**
     * @return array<string, mixed>
     */
    public function get(string $path, int $timeout = self::TIMEOUT): array
    {
        return $this->request('GET', $path, null, $timeout);
    }

    /**
     * @param array<string, mixed>|null $body
     * @return array<string, mixed>
     */
    public function post(string $path, ?array $body = null, int $timeout = self::TIMEOUT): array
    {
        return $this->request('POST', $path, $body, $timeout);
    }

    /**
     * @param array<string, mixed> $body
     * @return array<string, mixed>
     */
    public function patch(string $path, array $body, int $timeout = self::TIMEOUT): array
    {
        return $this->request('PATCH', $path, $body, $timeout);
    }

    /**
     * @return array<string, mixed>
     */
    public function delete(string $path, int $timeout = self::TIMEOUT): array
    {
        return $this->request('DELETE', $path, null, $timeout);
    }

    /**
     * Send one call and return hostmgr's decoded success answer.
     *
     * @param array<string, mixed>|null $body
     * @return array<string, mixed>
     * @throws ApiError
     */
    public function request(string $method, string $path, ?array $body, int $timeout): array
    {
        $url = $this->origin . self::PATH . $path;
        $payload = null;
        if ($body !== null) {
            // An empty PHP array would encode as a JSON list, which hostmgr refuses.
            $payload = $body === [] ? '{}' : json_encode($body, JSON_UNESCAPED_SLASHES);
            if ($payload === false) {
                throw new ModuleError('The request to hostmgr could not be encoded as JSON: '
                    . json_last_error_msg());
            }
        }
        $logged = $method . ' ' . $url . ($body === null ? '' : "\n" . $this->describe($body));

        $answer = $this->send($method, $url, $payload, $timeout);
        try {
            $data = $this->interpret($answer);
        } catch (ApiError $error) {
            $this->log($logged, $this->describeAnswer($answer), $error->getMessage());
            throw $error;
        }
        $this->log($logged, $this->describeAnswer($answer), $this->redact($data));
        return $data;
    }

    /**
     * One HTTP exchange, whatever its outcome.
     *
     * @return array<string, mixed> status, body and headers of the answer; curl's
     *         errno and error, the socket's errno; whether TCP connected and the
     *         request went out; the timeout that applied
     */
    private function send(string $method, string $url, ?string $payload, int $timeout): array
    {
        $headers = [];
        $handle = curl_init();
        $requestHeaders = [
            'Authorization: Bearer ' . $this->token,
            'Accept: application/json',
            'User-Agent: hostmgr-whmcs/1.0',
            // No "100 Continue" round trip before a body.
            'Expect:',
        ];
        if ($payload !== null) {
            $requestHeaders[] = 'Content-Type: application/json';
            curl_setopt($handle, CURLOPT_POSTFIELDS, $payload);
        }
        curl_setopt_array($handle, [
            CURLOPT_URL => $url,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $requestHeaders,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT => self::CONNECT_TIMEOUT,
            CURLOPT_TIMEOUT => $timeout,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_HEADERFUNCTION => function ($curl, $line) use (&$headers) {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $headers[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
        ]);
        $body = curl_exec($handle);
        $answer = [
            'status' => (int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE),
            'body' => is_string($body) ? $body : '',
            'headers' => $headers,
            'errno' => curl_errno($handle),
            'error' => curl_error($handle),
            'os_errno' => (int) curl_getinfo($handle, CURLINFO_OS_ERRNO),
            // curl counts a TLS handshake as part of connecting, so ask apart
            // whether TCP got through (a local port) and whether the request went out.
            'connected' => curl_getinfo($handle, CURLINFO_LOCAL_PORT) > 0,
            'sent' => curl_getinfo($handle, CURLINFO_PRETRANSFER_TIME) > 0,
            'timeout' => $timeout,
        ];
        curl_close($handle);
        return $answer;
    }

    /**
     * @param array<string, mixed> $answer from send()
     * @return array<string, mixed>
     */
    private function interpret(array $answer): array
    {
        if ($answer['errno'] !== 0) {
            throw new ApiError($this->explainTransport($answer));
        }
        $status = $answer['status'];
        if ($status >= 300 && $status < 400) {
            $to = $answer['headers']['location'] ?? 'another address';
            throw new ApiError(
                'hostmgr at ' . $this->origin . ' answered with a redirect (' . $status
                . ') to ' . $to . ': if that is an https address, tick "Secure" for '
                . 'this server and set its port',
                $status
            );
        }
        $data = json_decode($answer['body'], true);
        if (!is_array($data) || !isset($data['status'])) {
            throw new ApiError(
                'The server at ' . $this->origin . ' answered ' . $status . ' with something '
                . 'other than hostmgr\'s JSON: check that the hostname and port point at '
                . 'hostmgr (port ' . self::DEFAULT_PORT . ' by default)',
                $status
            );
        }
        if ($status >= 200 && $status < 300 && $data['status'] === 'success') {
            return $data;
        }
        throw $this->explainRefusal($status, $data, $answer['headers']);
    }

    /**
     * @param array<string, mixed> $answer from send()
     */
    private function explainTransport(array $answer): string
    {
        $where = 'hostmgr could not be reached at ' . $this->origin;
        switch ($answer['errno']) {
            case 6: // CURLE_COULDNT_RESOLVE_HOST
                return $where . ' (the host name does not resolve): check the server\'s hostname';
            case 7: // CURLE_COULDNT_CONNECT
                $why = self::SOCKET_ERRORS[$answer['os_errno']] ?? $answer['error'];
                return $where . ' (' . $why . '): check the hostname and port, and that '
                    . '`hostmgr serve` is running and listens on an address this WHMCS can reach';
            case 28: // CURLE_OPERATION_TIMEDOUT
                if (!$answer['connected']) {
                    return $where . ' (timeout after ' . self::CONNECT_TIMEOUT . ' s): check the '
                        . 'hostname, the port and the firewall between WHMCS and hostmgr';
                }
                if (!$answer['sent'] && strpos($this->origin, 'https:') === 0) {
                    return 'The TLS handshake with ' . $this->origin . ' did not finish within '
                        . self::CONNECT_TIMEOUT . ' s: if hostmgr serves plain HTTP on this '
                        . 'port, untick "Secure" for this server';
                }
                return 'hostmgr at ' . $this->origin . ' did not answer within '
                    . $answer['timeout'] . ' s: the action may still finish on the server, '
                    . 'so look at the service in hostmgr before you retry';
            case 35: // CURLE_SSL_CONNECT_ERROR
                return 'The TLS handshake with ' . $this->origin . ' failed (' . $answer['error']
                    . '): if hostmgr serves plain HTTP on this port, untick "Secure" for '
                    . 'this server';
            case 51: // CURLE_PEER_FAILED_VERIFICATION (older curl)
            case 58: // CURLE_SSL_CERTPROBLEM
            case 60: // CURLE_PEER_FAILED_VERIFICATION
            case 77: // CURLE_SSL_CACERT_BADFILE
            case 83: // CURLE_SSL_ISSUER_ERROR
                return 'hostmgr at ' . $this->origin . ' has a TLS certificate this WHMCS '
                    . 'cannot verify (' . $answer['error'] . '): give hostmgr a certificate '
                    . 'from a trusted authority for this hostname, and use the hostname the '
                    . 'certificate names';
            default:
                return $where . ' (' . $answer['error'] . ')';
        }
    }

    /**
     * @param array<string, mixed> $data
     * @param array<string, string> $headers
     */
    private function explainRefusal(int $status, array $data, array $headers): ApiError
    {
        $message = trim((string) ($data['message'] ?? ''));
        $fields = [];
        foreach (($data['errors'] ?? []) as $field => $messages) {
            $fields[(string) $field] = array_map('strval', (array) $messages);
        }
        switch (true) {
            case $status === 401:
                $text = 'hostmgr refused the API token (401' . ($message ? ': ' . $message : '')
                    . '): check the server\'s API token, or create a new one with '
                    . '`hostmgr token create`';
                break;
            case $status === 403:
                $text = 'hostmgr refused the request (403): ' . ($message ?: 'not allowed');
                if (stripos($message, 'IP address') !== false) {
                    $text .= ': add this WHMCS server\'s address to the token\'s allow-list, '
                        . 'or create a token without one';
                }
                break;
            case $status === 422:
                $text = 'hostmgr refused the data (422): ' . ($message ?: 'invalid');
                $parts = [];
                foreach ($fields as $field => $messages) {
                    $parts[] = $field . ': ' . implode(' ', $messages);
                }
                if ($parts) {
                    $text .= ' (' . implode('; ', $parts) . ')';
                }
                break;
            case $status === 429:
                $wait = $headers['retry-after'] ?? '60';
                $text = 'hostmgr rate limit reached (429): retry in ' . $wait . ' s, or raise '
                    . 'rate_limit in hostmgr\'s configuration';
                break;
            case $status >= 500:
                $text = 'hostmgr failed on the server (' . $status . '): '
                    . ($message ?: 'no detail given') . '; hostmgr\'s log has the detail';
                break;
            default:
                $text = 'hostmgr: ' . ($message ?: 'the request failed') . ' (' . $status . ')';
        }
        return new ApiError($this->mask($text), $status, $fields);
    }

    /**
     * @param array<string, mixed> $body
     */
    private function describe(array $body): string
    {
        $flags = JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES;
        return (string) json_encode($this->redact($body), $flags);
    }

    /**
     * @param array<string, mixed> $answer from send()
     */
    private function describeAnswer(array $answer): string
    {
        if ($answer['errno'] !== 0) {
            return 'no answer: curl error ' . $answer['errno'] . ' ' . $answer['error'];
        }
        $data = json_decode($answer['body'], true);
        $text = is_array($data) ? $this->describe($data) : substr($answer['body'], 0, 2000);
        return 'HTTP ' . $answer['status'] . "\n" . $this->mask($text);
    }

    /**
     * A copy of $value with every secret field masked, and SSO links cut short:
     * a logged one-time link would let anyone who reads the log sign in.
     *
     * @param mixed $value
     * @return mixed
     */
    public function redact($value)
    {
        if (!is_array($value)) {
            return is_string($value) ? $this->mask($value) : $value;
        }
        $copy = [];
        foreach ($value as $key => $item) {
            $name = strtolower((string) $key);
            $secret = false;
            foreach (self::SECRET_FIELDS as $word) {
                if (strpos($name, $word) !== false) {
                    $secret = true;
                }
            }
            if ($secret) {
                $copy[$key] = self::MASK;
            } elseif (in_array($name, ['redirect_url', 'redirectto'], true) && is_string($item)) {
                $copy[$key] = strtok($item, '?') . '?' . self::MASK;
            } else {
                $copy[$key] = $this->redact($item);
            }
        }
        return $copy;
    }

    private function mask(string $text): string
    {
        return str_replace($this->secrets, self::MASK, $text);
    }

    /**
     * @param mixed $processed
     */
    private function log(string $request, string $response, $processed): void
    {
        if (function_exists('logModuleCall')) {
            \logModuleCall(
                'hostmgr',
                $this->action,
                $this->mask($request),
                $response,
                $processed,
                $this->secrets
            );
        }
    }
}
