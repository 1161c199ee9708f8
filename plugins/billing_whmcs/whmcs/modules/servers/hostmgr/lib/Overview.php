<?php
/**
 * What the client area and the admin's service tab show about a service.
 *
 * Values come back raw (not HTML-escaped): the Smarty template escapes what it
 * prints, and hostmgr_AdminServicesTabFields escapes the admin tab's fields.
 */

namespace WHMCS\Module\Server\Hostmgr;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

class Overview
{
    /** A domain the module will turn into a link; anything else is shown as text. */
    const DOMAIN_PATTERN = '/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i';

    /** @var ApiClient */
    private $api;

    public function __construct(ApiClient $api)
    {
        $this->api = $api;
    }

    /**
     * Status, CPU and memory (from /stats), disk and traffic (from /usage).
     *
     * @return array<string, mixed>
     */
    public function instance(string $name): array
    {
        $path = '/instances/' . ApiClient::segment($name);
        $stats = $this->api->get($path . '/stats');
        $usage = $this->api->get($path . '/usage');
        $domain = (string) ($usage['domain'] ?? $stats['domain'] ?? '');
        $status = (string) ($stats['instance_status'] ?? 'unknown');
        return [
            'name' => $name,
            'domain' => $domain,
            'instance_url' => self::urlOf($domain),
            'status' => $status,
            'is_running' => $status === 'running',
            'is_suspended' => $status === 'suspended',
            'cpu_percent' => self::percent($stats['cpu_percent'] ?? 0),
            'memory_usage' => (string) ($stats['memory_usage'] ?? ''),
            'memory_limit' => (string) ($stats['memory_limit'] ?? ''),
            'memory_percent' => self::percent($stats['memory_percent'] ?? 0),
            'disk_usage' => self::megabytes($usage['disk_usage_mb'] ?? 0),
            'disk_limit' => self::limit($usage['disk_limit_mb'] ?? 0),
            'bandwidth_usage' => self::megabytes($usage['bandwidth_mb'] ?? 0),
            'bandwidth_limit' => self::limit($usage['bandwidth_limit_mb'] ?? 0),
            'period' => (string) ($usage['period'] ?? ''),
        ];
    }

    /**
     * The reseller's state and its counts of customers and instances.
     *
     * @return array<string, mixed>
     */
    public function reseller(string $username): array
    {
        $found = $this->api->get('/resellers/' . ApiClient::segment($username));
        $reseller = $found['reseller'] ?? [];
        $counts = $reseller['instances'] ?? [];
        return [
            'username' => $username,
            'status' => empty($reseller['suspended']) ? 'active' : 'suspended',
            'is_suspended' => !empty($reseller['suspended']),
            'customers' => (int) ($reseller['users'] ?? 0),
            'instances_total' => (int) ($counts['total'] ?? 0),
            'instances_running' => (int) ($counts['running'] ?? 0),
        ];
    }

    /** https://<domain> for a well-formed domain, else an empty string. */
    public static function urlOf(string $domain): string
    {
        return preg_match(self::DOMAIN_PATTERN, $domain) ? 'https://' . strtolower($domain) : '';
    }

    /**
     * @param mixed $value
     */
    public static function percent($value): string
    {
        return number_format((float) $value, 1) . ' %';
    }

    /**
     * @param mixed $megabytes
     */
    public static function megabytes($megabytes): string
    {
        $value = (float) $megabytes;
        if ($value >= 1024 * 1024) {
            return number_format($value / (1024 * 1024), 1) . ' TB';
        }
        if ($value >= 1024) {
            return number_format($value / 1024, 1) . ' GB';
        }
        return number_format($value, 1) . ' MB';
    }

    /**
     * A limit in MB, where 0 means none.
     *
     * @param mixed $megabytes
     */
    public static function limit($megabytes): string
    {
        return (float) $megabytes > 0 ? self::megabytes($megabytes) : 'unlimited';
    }
}
