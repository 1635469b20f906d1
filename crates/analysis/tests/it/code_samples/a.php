<?php
namespace App\Http;
use App\Models\User;
require_once 'vendor/autoload.php';

/** A controller. */
class UserController {
    public function show(int $id): ?User {
        if ($id > 0 && $id < 100) { return User::find($id); }
        foreach ([1, 2] as $x) { echo $x; }
        return $id ?? null;
    }
    private function log() {}
}
function helper() { return 1; }
interface Shape {}
trait Greets {}
