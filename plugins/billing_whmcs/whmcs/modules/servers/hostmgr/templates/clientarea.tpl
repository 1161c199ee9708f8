{* hostmgr: a service's overview in the WHMCS client area. Every value is escaped. *}
<div class="hostmgr-service">
{if $error}
    <div class="alert alert-warning">{$error|escape:'html'}</div>
{/if}
{if $account_type == 'reseller'}
    {if !$error}
    <table class="table table-condensed">
        <tr><th>Reseller account</th><td>{$username|escape:'html'}</td></tr>
        <tr><th>Status</th><td>{$status|escape:'html'}</td></tr>
        <tr><th>Customers</th><td>{$customers|escape:'html'}</td></tr>
        <tr><th>Instances</th><td>{$instances_total|escape:'html'} ({$instances_running|escape:'html'} running)</td></tr>
    </table>
    {/if}
{elseif !$error}
    <table class="table table-condensed">
        <tr><th>Status</th><td><span class="label label-{if $is_running}success{elseif $is_suspended}danger{else}default{/if}">{$status|escape:'html'}</span></td></tr>
        <tr><th>Address</th><td>{if $instance_url}<a href="{$instance_url|escape:'html'}" target="_blank" rel="noopener noreferrer">{$domain|escape:'html'}</a>{else}{$domain|escape:'html'}{/if}</td></tr>
        <tr><th>CPU</th><td>{$cpu_percent|escape:'html'}</td></tr>
        <tr><th>Memory</th><td>{$memory_usage|escape:'html'} of {$memory_limit|escape:'html'} ({$memory_percent|escape:'html'})</td></tr>
        <tr><th>Disk</th><td>{$disk_usage|escape:'html'} of {$disk_limit|escape:'html'}</td></tr>
        <tr><th>Traffic{if $period} ({$period|escape:'html'}){/if}</th><td>{$bandwidth_usage|escape:'html'} of {$bandwidth_limit|escape:'html'}</td></tr>
    </table>
    {if !$is_suspended}
    <div class="hostmgr-power">
        {foreach from=['start' => 'Start', 'stop' => 'Stop', 'restart' => 'Restart'] key=command item=label}
        <form method="post" action="clientarea.php?action=productdetails&amp;id={$serviceid|escape:'url'}" style="display:inline">
            <input type="hidden" name="token" value="{$token|escape:'html'}">
            <input type="hidden" name="modop" value="custom">
            <input type="hidden" name="a" value="{$command|escape:'html'}">
            <button type="submit" class="btn btn-default"{if ($command == 'start' && $is_running) || ($command != 'start' && !$is_running)} disabled{/if}>{$label|escape:'html'}</button>
        </form>
        {/foreach}
    </div>
    {/if}
{/if}
    <p><a class="btn btn-primary" href="{$sso_url|escape:'html'}" target="_blank">Open the n8n panel</a></p>
</div>
